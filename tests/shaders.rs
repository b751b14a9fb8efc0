//! The kernels as source, with no device: every variant the engine can compile
//! ([`Variant::every`]) validates with naga and matches the kernel table, and translates to
//! every shader language wgpu hands a driver (SPIR-V for Vulkan, MSL for Metal, HLSL for DX12,
//! GLSL ES 3.1 for GL), so a translation failure on a platform CI cannot run is caught here.
//! Where `spirv-val` and `glslangValidator` are installed (Debian: spirv-tools, glslang-tools)
//! the SPIR-V and GLSL are validated by them too; a missing validator prints a `SKIPPED` line
//! saying what to install, unless MNIST_GPU_REQUIRE_VALIDATORS=1 (CI), where it fails.
//! (The WGSL compiler of browsers, Tint, is tests/dawn.rs.)

use std::io::Write;
use std::process::{Command, Stdio};

mod common;

use mnist_gpu::engine::gpu::kernels::{Access, Kernel, Variant, Workgroup};

/// Every composed variant parses and validates with naga, before and after its overrides are
/// applied with the values the pipelines use; its workgroup size is the one the dispatch
/// arithmetic assumes, and its bindings (names, uniform or storage, access modes) read back
/// through naga are exactly the kernel table's row.
#[test]
fn every_variant_validates_with_naga_and_matches_the_table() {
    for variant in Variant::every() {
        let name = variant.describe();
        let (module, info) = validated(variant);
        let (resolved, _) = with_overrides(variant, &module, &info);
        let entry = &resolved.entry_points[0];
        assert!(
            entry.workgroup_size_overrides.is_none(),
            "{name}: workgroup size unresolved"
        );
        let spec = variant.kernel.spec();
        let expected = match (spec.workgroup, variant.tile) {
            (Workgroup::Square, _) => [8, 8, 1],
            (Workgroup::Line, _) => [64, 1, 1],
            (Workgroup::Fixed, _) => [256, 1, 1],
            (Workgroup::Tiled, Some(t)) => [t.bn / t.tn, t.bm / t.tm, 1],
            (Workgroup::Tiled, None) => unreachable!("every tiled variant has a tile"),
        };
        assert_eq!(entry.workgroup_size, expected, "{name}: workgroup size");
        // ACTIVATION is declared exactly where the table says the kernel takes it.
        let declares_activation = module
            .overrides
            .iter()
            .any(|(_, o)| o.name.as_deref() == Some("ACTIVATION"));
        assert_eq!(
            declares_activation, spec.interface.activation,
            "{name}: ACTIVATION"
        );

        let mut bindings: Vec<(u32, String, Option<Access>)> = module
            .global_variables
            .iter()
            .filter_map(|(_, var)| {
                let binding = var.binding.as_ref()?;
                assert_eq!(binding.group, 0, "{name}: group");
                let access = match var.space {
                    naga::AddressSpace::Uniform => None,
                    naga::AddressSpace::Storage { access } => {
                        Some(if access.contains(naga::StorageAccess::STORE) {
                            Access::ReadWrite
                        } else {
                            Access::Read
                        })
                    }
                    other => panic!("{name}: binding in {other:?}"),
                };
                Some((
                    binding.binding,
                    var.name.clone().unwrap_or_default(),
                    access,
                ))
            })
            .collect();
        bindings.sort_by_key(|b| b.0);
        let mut expected: Vec<(u32, String, Option<Access>)> =
            vec![(0, "batch".into(), None), (1, "layer".into(), None)];
        for (i, (binding, access)) in spec.interface.storage.iter().enumerate() {
            expected.push((2 + i as u32, (*binding).to_string(), Some(*access)));
        }
        assert_eq!(
            bindings, expected,
            "{name}: bindings against the interface read at build time"
        );
        // The downlevel limit of storage buffers per shader stage.
        assert!(
            spec.interface.storage.len() <= 4,
            "{name}: over 4 storage buffers"
        );
    }
}

/// Every kernel file is in the table; no file is over 300 lines; no WGSL struct is declared in
/// two files (the shared ones live in `shaders/lib/`).
#[test]
fn shaders_are_the_table_and_share_their_structs() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("shaders");
    let mut structs: Vec<(String, String)> = Vec::new();
    let mut kernels = 0;
    for dir in [root.clone(), root.join("lib")] {
        for entry in std::fs::read_dir(&dir).expect("shaders/") {
            let path = entry.expect("entry").path();
            if path.extension().is_none_or(|e| e != "wgsl") {
                continue;
            }
            let file = path.display().to_string();
            let text = std::fs::read_to_string(&path).expect("read");
            assert!(text.lines().count() <= 300, "{file}: over 300 lines");
            for line in text.lines() {
                if let Some(rest) = line.trim().strip_prefix("struct ") {
                    let name: String = rest
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect();
                    if let Some((_, other)) = structs.iter().find(|(n, _)| *n == name) {
                        panic!("struct {name} declared in {other} and {file}");
                    }
                    structs.push((name, file.clone()));
                }
            }
            if dir == root {
                let stem = path.file_stem().and_then(|s| s.to_str()).expect("name");
                let kernel = Kernel::ALL
                    .into_iter()
                    .find(|k| k.name() == stem)
                    .unwrap_or_else(|| panic!("{file} is not in the kernel table"));
                assert_eq!(
                    text,
                    kernel.spec().source,
                    "{file}: embedded source is stale"
                );
                kernels += 1;
            }
        }
    }
    assert_eq!(kernels, Kernel::ALL.len(), "one shader per kernel");
}

/// A variant's module as naga parses and validates it (its overrides still open).
fn validated(variant: Variant) -> (naga::Module, naga::valid::ModuleInfo) {
    let name = variant.describe();
    let source = variant.source().expect("compose");
    let module = naga::front::wgsl::parse_str(&source)
        .unwrap_or_else(|e| panic!("{name}: {}", e.emit_to_string(&source)));
    let info = naga::valid::Validator::new(
        naga::valid::ValidationFlags::all(),
        naga::valid::Capabilities::empty(),
    )
    .validate(&module)
    .unwrap_or_else(|e| panic!("{name}: {}", e.emit_to_string(&source)));
    (module, info)
}

/// `module` of `variant` with the variant's override values applied.
fn with_overrides(
    variant: Variant,
    module: &naga::Module,
    info: &naga::valid::ModuleInfo,
) -> (naga::Module, naga::valid::ModuleInfo) {
    let mut constants = naga::back::PipelineConstants::default();
    for (key, value) in variant.constants() {
        constants.insert(key.to_string(), value);
    }
    let (module, info) = naga::back::pipeline_constants::process_overrides(
        module,
        info,
        Some((naga::ShaderStage::Compute, "main")),
        &constants,
    )
    .unwrap_or_else(|e| panic!("{}: overrides: {e}", variant.describe()));
    (module.into_owned(), info.into_owned())
}

/// A variant's module with its overrides applied, as a pipeline compiles it.
fn resolved(variant: Variant) -> (naga::Module, naga::valid::ModuleInfo) {
    let (module, info) = validated(variant);
    with_overrides(variant, &module, &info)
}

/// A validator program, if installed; `None` after a SKIPPED line (a failure under
/// MNIST_GPU_REQUIRE_VALIDATORS=1).
fn validator(program: &str, package: &str) -> Option<String> {
    let found = Command::new(program)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    if found {
        return Some(program.to_string());
    }
    let why = format!("{program} is not installed");
    if std::env::var("MNIST_GPU_REQUIRE_VALIDATORS").as_deref() == Ok("1") {
        panic!("MNIST_GPU_REQUIRE_VALIDATORS=1 but {why}");
    }
    common::skip(&why, &format!("apt-get install {package}"));
    None
}

/// Runs `program args` on `input` through standard input; its output when it fails.
fn rejects(program: &str, args: &[&str], input: &[u8]) -> Option<String> {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input)
        .expect("write to the validator");
    let output = child.wait_with_output().expect("validator output");
    (!output.status.success()).then(|| {
        format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

/// Every variant translates to SPIR-V, MSL, HLSL and GLSL ES 3.1 through naga; the SPIR-V
/// passes `spirv-val` (Vulkan 1.1 rules) and the GLSL `glslangValidator` where they are
/// installed.
#[test]
fn every_variant_translates_to_every_shader_language() {
    let spirv_val = validator("spirv-val", "spirv-tools");
    let glslang = validator("glslangValidator", "glslang-tools");
    let variants = Variant::every();
    for &variant in &variants {
        let name = variant.describe();
        let (module, info) = resolved(variant);

        let spirv = naga::back::spv::write_vec(
            &module,
            &info,
            &naga::back::spv::Options::default(),
            Some(&naga::back::spv::PipelineOptions {
                shader_stage: naga::ShaderStage::Compute,
                entry_point: "main".into(),
            }),
        )
        .unwrap_or_else(|e| panic!("{name}: SPIR-V: {e}"));
        if let Some(program) = &spirv_val {
            let words: Vec<u8> = spirv.iter().flat_map(|w| w.to_le_bytes()).collect();
            if let Some(why) = rejects(program, &["--target-env", "vulkan1.1", "-"], &words) {
                panic!("{name}: spirv-val rejects the SPIR-V: {why}");
            }
        }

        let (msl, _) = naga::back::msl::write_string(
            &module,
            &info,
            &naga::back::msl::Options::default(),
            &naga::back::msl::PipelineOptions::default(),
        )
        .unwrap_or_else(|e| panic!("{name}: MSL: {e}"));
        assert!(msl.contains("kernel void"), "{name}: no MSL kernel");

        let mut hlsl = String::new();
        naga::back::hlsl::Writer::new(
            &mut hlsl,
            &naga::back::hlsl::Options::default(),
            &naga::back::hlsl::PipelineOptions::default(),
        )
        .write(&module, &info, None)
        .unwrap_or_else(|e| panic!("{name}: HLSL: {e}"));
        assert!(hlsl.contains("[numthreads("), "{name}: no HLSL entry point");

        let mut glsl = String::new();
        let options = naga::back::glsl::Options {
            version: naga::back::glsl::Version::Embedded {
                version: 310,
                is_webgl: false,
            },
            ..Default::default()
        };
        naga::back::glsl::Writer::new(
            &mut glsl,
            &module,
            &info,
            &options,
            &naga::back::glsl::PipelineOptions {
                shader_stage: naga::ShaderStage::Compute,
                entry_point: "main".into(),
                multiview: None,
            },
            naga::proc::BoundsCheckPolicies::default(),
        )
        .and_then(|mut writer| writer.write())
        .unwrap_or_else(|e| panic!("{name}: GLSL: {e}"));
        if let Some(program) = &glslang
            && let Some(why) = rejects(program, &["--stdin", "-S", "comp"], glsl.as_bytes())
        {
            panic!("{name}: glslangValidator rejects the GLSL ES: {why}");
        }
    }
    println!(
        "{} variants translated to SPIR-V, MSL, HLSL and GLSL ES 3.1",
        variants.len()
    );
}
