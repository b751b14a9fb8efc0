//! Chromium's WebGPU (Dawn, and its WGSL compiler Tint) as a kernel device: headless Chromium,
//! driven through chromedriver, opens a small harness page (`harness.js` beside this file) that
//! compiles composed kernels and dispatches or times them on buffers handed over from Rust.
//! Used by tests/dawn.rs and benches/webgpu.rs.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use fantoccini::wd::TimeoutConfiguration;
use fantoccini::{Client, ClientBuilder};
use mnist_gpu::engine::gpu::kernels::{Access, Variant};
use mnist_gpu::kernel_params::{BatchParams, LayerParams};
use serde_json::{Value, json};

use crate::chromium::{CHROMIUM_INSTALL, Process, missing, on_path, start_chromedriver};

const HARNESS_JS: &str = include_str!("harness.js");
const HARNESS_HTML: &str = "<!doctype html><meta charset=utf-8><title>loading</title><script type=module src=harness.js></script>";

/// Chromium's flags: headless as root, WebGPU on (it is behind a flag on Linux), and no
/// background traffic to hosts this machine cannot reach.
const CHROMIUM_ARGS: [&str; 8] = [
    "--headless=new",
    "--no-sandbox",
    "--enable-unsafe-webgpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
];

/// How long one call into the page may take (compiling a batch of variants on SwiftShader).
const CALL_TIMEOUT: Duration = Duration::from_secs(300);

/// Serves the harness page on 127.0.0.1 (WebGPU needs a secure context: localhost is one,
/// `file://` cannot load modules). The thread lives as long as the test process.
fn serve_harness() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind the harness server");
    let port = listener.local_addr().expect("address").port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut request_line = String::new();
            let mut reader = BufReader::new(&stream);
            if reader.read_line(&mut request_line).is_err() {
                continue;
            }
            // Drain the headers.
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                line.clear();
            }
            let path = request_line.split_whitespace().nth(1).unwrap_or("/");
            let (status, kind, body) = match path {
                "/" => ("200 OK", "text/html", HARNESS_HTML),
                "/harness.js" => ("200 OK", "text/javascript", HARNESS_JS),
                _ => ("404 Not Found", "text/plain", "not found"),
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    format!("http://127.0.0.1:{port}/")
}

/// Chromium's WebGPU device, opened by the harness page.
pub struct Dawn {
    runtime: tokio::runtime::Runtime,
    client: Option<Client>,
    _driver: Process,
    pub adapter: String,
    pub limits: wgpu::Limits,
    /// The kernels `KernelDevice::run` has dispatched, to check that every one is covered.
    pub ran: RefCell<BTreeSet<&'static str>>,
}

impl Dawn {
    /// Starts Chromium on the harness page and opens its WebGPU device; `None` (after
    /// [`missing`]) when the browser or its WebGPU is not there.
    pub fn open() -> Option<Dawn> {
        let Some(driver) = on_path("chromedriver") else {
            missing("chromedriver is not installed", CHROMIUM_INSTALL);
            return None;
        };
        let url = serve_harness();
        let (driver, webdriver) = start_chromedriver(&driver);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let client = runtime.block_on(async {
            let mut options = json!({ "args": CHROMIUM_ARGS });
            if let Some(chromium) = on_path("chromium") {
                options["binary"] = Value::from(chromium.display().to_string());
            }
            let mut capabilities = serde_json::Map::new();
            capabilities.insert("goog:chromeOptions".into(), options);
            let client =
                ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
                    .capabilities(capabilities)
                    .connect(&webdriver)
                    .await
                    .expect("start Chromium through chromedriver");
            client
                .update_timeouts(TimeoutConfiguration::new(Some(CALL_TIMEOUT), None, None))
                .await
                .expect("set the script timeout");
            client.goto(&url).await.expect("open the harness page");
            let deadline = Instant::now() + Duration::from_secs(30);
            while client.title().await.expect("title") != "ready" {
                assert!(Instant::now() < deadline, "the harness page did not load");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            client
        });
        let mut dawn = Dawn {
            runtime,
            client: Some(client),
            _driver: driver,
            adapter: String::new(),
            limits: wgpu::Limits::downlevel_defaults(),
            ran: RefCell::default(),
        };
        let info = match dawn.call("init", Value::Null) {
            Ok(info) => info,
            Err(e) => {
                missing(
                    &format!("the browser has no WebGPU device: {e}"),
                    "a Chromium with WebGPU, and apt-get install mesa-vulkan-drivers",
                );
                return None;
            }
        };
        let limit = |name: &str| info["limits"][name].as_u64().map(|v| v as u32);
        let limits = &mut dawn.limits;
        for (field, name) in [
            (
                &mut limits.max_compute_invocations_per_workgroup,
                "maxComputeInvocationsPerWorkgroup",
            ),
            (
                &mut limits.max_compute_workgroup_size_x,
                "maxComputeWorkgroupSizeX",
            ),
            (
                &mut limits.max_compute_workgroup_size_y,
                "maxComputeWorkgroupSizeY",
            ),
            (
                &mut limits.max_compute_workgroup_storage_size,
                "maxComputeWorkgroupStorageSize",
            ),
            (
                &mut limits.max_storage_buffers_per_shader_stage,
                "maxStorageBuffersPerShaderStage",
            ),
        ] {
            *field = limit(name).unwrap_or_else(|| panic!("the adapter has no {name}: {info}"));
        }
        dawn.adapter = format!(
            "{} {} {}",
            info["vendor"].as_str().unwrap_or(""),
            info["architecture"].as_str().unwrap_or(""),
            info["description"].as_str().unwrap_or("")
        )
        .trim()
        .to_string();
        println!(
            "WebGPU adapter: {} ({} invocations, {} B workgroup memory)",
            dawn.adapter,
            dawn.limits.max_compute_invocations_per_workgroup,
            dawn.limits.max_compute_workgroup_storage_size
        );
        Some(dawn)
    }

    /// Calls `window.harness[method](argument)` in the page; its answer, or its error.
    pub fn call(&self, method: &str, argument: Value) -> Result<Value, String> {
        let client = self.client.as_ref().expect("an open browser");
        let script = "const [method, argument, done] = arguments; \
                      window.harness[method](argument, done);";
        let answer = self
            .runtime
            .block_on(client.execute_async(script, vec![method.into(), argument]))
            .unwrap_or_else(|e| panic!("harness.{method}: {e}"));
        match answer.get("error") {
            Some(error) => Err(error.as_str().unwrap_or("?").to_string()),
            None => Ok(answer["ok"].clone()),
        }
    }
}

impl Drop for Dawn {
    fn drop(&mut self) {
        // End the WebDriver session so chromedriver closes Chromium before it is killed.
        if let Some(client) = self.client.take() {
            let _ = self.runtime.block_on(client.close());
        }
    }
}

/// What the page needs to compile a variant: its composed source, override constants and the
/// kernel table's storage bindings.
pub fn compile_spec(variant: Variant) -> Value {
    let constants: serde_json::Map<String, Value> = variant
        .constants()
        .into_iter()
        .map(|(name, value)| (name.to_string(), Value::from(value)))
        .collect();
    let storage: Vec<&str> = variant
        .kernel
        .storage()
        .map(|access| match access {
            Access::Read => "read",
            Access::ReadWrite => "read_write",
        })
        .collect();
    json!({
        "name": variant.describe(),
        "code": variant.source().expect("compose"),
        "constants": constants,
        "storage": storage,
    })
}

/// What the page needs to dispatch a variant: [`compile_spec`], the uniforms, the storage
/// buffers' contents and the grid.
fn dispatch_spec(
    variant: Variant,
    batch: BatchParams,
    layer: LayerParams,
    storage: &[Vec<u8>],
) -> Value {
    let mut spec = compile_spec(variant);
    spec["batch"] = BASE64.encode(bytemuck::bytes_of(&batch)).into();
    spec["layer"] = BASE64.encode(bytemuck::bytes_of(&layer)).into();
    spec["buffers"] = storage.iter().map(|b| BASE64.encode(b)).collect();
    spec["grid"] = variant.workgroups(&batch, &layer).to_vec().into();
    spec
}

impl Dawn {
    /// Seconds per dispatch of `variant` on `storage` (benches/webgpu.rs): one figure per sample, each sample
    /// `dispatches` dispatches in one pass and one submit.
    pub fn time(
        &self,
        variant: Variant,
        (batch, layer): (BatchParams, LayerParams),
        storage: &[Vec<u8>],
        dispatches: usize,
        samples: usize,
    ) -> Result<Vec<f64>, String> {
        let mut spec = dispatch_spec(variant, batch, layer, storage);
        spec["dispatches"] = dispatches.into();
        spec["samples"] = samples.into();
        let answer = self.call("time", spec)?;
        Ok(answer
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_f64).collect())
            .unwrap_or_default())
    }
}

impl Dawn {
    /// One dispatch of `variant` on `storage` (its storage buffers in binding order); each
    /// buffer the kernel writes is replaced by its contents after the run.
    pub fn run(
        &self,
        variant: Variant,
        batch: BatchParams,
        layer: LayerParams,
        storage: &mut [Vec<u8>],
    ) {
        let spec = dispatch_spec(variant, batch, layer, storage);
        let outputs = self
            .call("run", spec)
            .unwrap_or_else(|e| panic!("{} on Dawn: {e}", variant.describe()));
        let outputs = outputs.as_array().expect("one answer per buffer");
        assert_eq!(outputs.len(), storage.len(), "{}", variant.describe());
        for (bytes, output) in storage.iter_mut().zip(outputs) {
            if let Some(text) = output.as_str() {
                let read = BASE64.decode(text).expect("base64");
                assert_eq!(read.len(), bytes.len(), "{}", variant.describe());
                *bytes = read;
            }
        }
        self.ran.borrow_mut().insert(variant.kernel.name());
    }
}
