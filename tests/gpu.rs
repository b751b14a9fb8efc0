//! The GPU engine against its CPU twins, the CPU engine and the f64 reference.
//!
//! Tests that need an adapter get it from [`context`]: without one they print
//! `SKIPPED (no GPU adapter)` and pass, unless `MNIST_GPU_REQUIRE_GPU=1` (CI), where they fail.
//! The device shape comes from the environment: `WGPU_BACKEND` (e.g. `gl`),
//! `LP_NATIVE_VECTOR_WIDTH` (lavapipe's subgroup width) and `MNIST_GPU_LIMITS=downlevel` (open
//! the device with `wgpu::Limits::downlevel_defaults()`); `.ci/run` runs this file under each,
//! with `MNIST_GPU_EXPECT` naming what the adapter must be (a substring of
//! `name (backend)`), so a shape that silently opens another device fails.

use std::sync::{Arc, OnceLock};

use mnist_gpu::cpu;
use mnist_gpu::data::{Dataset, Mnist, Split};
use mnist_gpu::engine::cpu::CpuEngine;
use mnist_gpu::engine::gpu::kernels::{Access, Kernel, Tile, Variant, Workgroup};
use mnist_gpu::engine::gpu::params::{BatchParams, LayerParams, pack_images};
use mnist_gpu::engine::gpu::plan::{KernelPlan, Product};
use mnist_gpu::engine::gpu::{AdapterRequest, GpuContext, GpuEngine, LimitsRequest};
use mnist_gpu::engine::{Engine, Hyper, Recipe, batches};
use mnist_gpu::model::{Architecture, Network};
use mnist_gpu::ops::{Activation, Dropout, Init, Loss};
use mnist_gpu::optim::{LrPlan, LrSchedule, Optimizer, OptimizerSettings};
use mnist_gpu::reference::{RefNetwork, input_of};
use mnist_gpu::train::round_order;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// One shared context (compiling every pipeline on lavapipe takes a while).
fn context() -> Option<Arc<GpuContext>> {
    static CONTEXT: OnceLock<Option<Arc<GpuContext>>> = OnceLock::new();
    let context = CONTEXT.get_or_init(|| {
        let limits = match std::env::var("MNIST_GPU_LIMITS").as_deref() {
            Ok("downlevel") => LimitsRequest::Downlevel,
            Ok("adapter") | Err(_) => LimitsRequest::Adapter,
            Ok(other) => panic!("MNIST_GPU_LIMITS={other:?}: expected downlevel or adapter"),
        };
        let request = AdapterRequest {
            backends: wgpu::Backends::from_env().unwrap_or(wgpu::Backends::PRIMARY),
            allow_software: true,
        };
        match GpuContext::with_limits(request, limits) {
            Ok(context) => {
                let info = &context.info;
                println!(
                    "device: {} ({:?}, {}), subgroups {}-{}, {} invocations, {} B workgroup memory",
                    info.name,
                    info.backend,
                    info.driver_info,
                    info.subgroup_min_size,
                    info.subgroup_max_size,
                    context.limits.max_compute_invocations_per_workgroup,
                    context.limits.max_compute_workgroup_storage_size
                );
                if let Ok(expected) = std::env::var("MNIST_GPU_EXPECT") {
                    let got = format!("{} ({:?})", info.name, info.backend);
                    assert!(
                        got.to_lowercase().contains(&expected.to_lowercase()),
                        "MNIST_GPU_EXPECT={expected:?} but the adapter is {got}"
                    );
                }
                if limits == LimitsRequest::Downlevel {
                    assert_eq!(context.limits, wgpu::Limits::downlevel_defaults());
                }
                Some(Arc::new(context))
            }
            Err(e) => {
                if std::env::var("MNIST_GPU_REQUIRE_GPU").as_deref() == Ok("1") {
                    panic!("MNIST_GPU_REQUIRE_GPU=1 but no GPU context: {e}");
                }
                None
            }
        }
    });
    if context.is_none() {
        println!("SKIPPED (no GPU adapter)");
    }
    context.clone()
}

fn uniform(rng: &mut ChaCha8Rng, n: usize, low: f32, high: f32) -> Vec<f32> {
    (0..n).map(|_| rng.random_range(low..high)).collect()
}

fn f32_bytes(values: &[f32]) -> &[u8] {
    bytemuck::cast_slice(values)
}

/// A buffer of `n` NaNs: outputs start poisoned, so anything a kernel fails to write fails.
fn poisoned(ctx: &GpuContext, n: usize) -> wgpu::Buffer {
    ctx.buffer_with("poisoned", f32_bytes(&vec![f32::NAN; n]))
}

fn read_f32(ctx: &GpuContext, buffer: &wgpu::Buffer) -> Vec<f32> {
    bytemuck::cast_slice(&ctx.read(buffer).expect("readback")).to_vec()
}

fn read_u32(ctx: &GpuContext, buffer: &wgpu::Buffer) -> Vec<u32> {
    bytemuck::cast_slice(&ctx.read(buffer).expect("readback")).to_vec()
}

/// Tolerance of a kernel output against its twin: both are f32 with sums in different
/// orders. A reordered sum of K ≤ 1100 terms of size ≤ 1 drifts by about √K·ε·|partial sums|
/// (≈ 33 · 1.2e-7 · 30 ≈ 1e-4 at worst here), exp differs by a few ulp; 2e-4·(1 + |expected|)
/// leaves a margin while a wrong index or a missed term gives errors of order 0.01–1.
/// NaN never passes (`!(diff <= tol)`).
fn assert_close(what: &str, gpu: &[f32], expected: &[f32]) {
    assert_eq!(gpu.len(), expected.len(), "{what}: lengths differ");
    for (i, (&g, &e)) in gpu.iter().zip(expected).enumerate() {
        let tol = 2e-4 * (1.0 + e.abs());
        assert!(
            (g - e).abs() <= tol,
            "{what}[{i}]: gpu {g} vs cpu {e} (tolerance {tol})"
        );
    }
}

/// Shapes (rows, outputs, inputs): tiny, not multiples of the 32-wide tiles, exact tiles, and
/// a tall batch whose gradient reduction runs over several splits.
type Shape = (usize, usize, usize);
const SHAPES: [Shape; 4] = [(5, 3, 8), (37, 13, 29), (64, 32, 32), (1100, 10, 17)];

fn batch_of(rows: usize) -> BatchParams {
    BatchParams::new(3, 0, rows)
}

/// A shuffled order over `images` images, used by the kernels that gather through it.
fn shuffled(rng: &mut ChaCha8Rng, images: usize) -> Vec<u32> {
    let mut order: Vec<u32> = (0..images as u32).collect();
    for i in (1..images).rev() {
        order.swap(i, rng.random_range(0..=i));
    }
    order
}

/// The twin signature shared by `forward_input` and `forward_input_tiled`.
type ForwardInputTwin = fn(&BatchParams, &LayerParams, &[u32], &[u32], &[f32], &mut [f32]);

/// Runs `kernel` on random packed images gathered through a shuffled order at each shape and
/// compares it with `twin`.
fn check_forward_input(
    ctx: &GpuContext,
    kernel: impl Into<Variant>,
    twin: ForwardInputTwin,
    shapes: &[Shape],
) {
    let kernel = kernel.into();
    for (seed, &(rows, outputs, inputs)) in shapes.iter().enumerate() {
        let mut rng = ChaCha8Rng::seed_from_u64(seed as u64);
        let images_n = rows + 7;
        let pixels: Vec<u8> = (0..images_n * inputs)
            .map(|_| rng.random_range(1..=255))
            .collect();
        let packed = pack_images(&pixels, inputs);
        let order = shuffled(&mut rng, images_n);
        // The layer's parameters: weights, then biases.
        let parameters = uniform(&mut rng, outputs * inputs + outputs, -0.5, 0.5);
        // Start at position 2 of the order: the kernel must offset by batch.first.
        let batch = BatchParams::new(0, 2, rows);
        let layer = LayerParams::new(inputs, outputs, 0.5);
        let mut expected = vec![0.0; rows * outputs];
        twin(&batch, &layer, &packed, &order, &parameters, &mut expected);
        let out = poisoned(ctx, rows * outputs);
        let bufs = [
            ctx.buffer_with("images", bytemuck::cast_slice(&packed)),
            ctx.buffer_with("order", bytemuck::cast_slice(&order)),
            ctx.buffer_with("parameters", f32_bytes(&parameters)),
        ];
        ctx.run_once(kernel, batch, layer, &[&bufs[0], &bufs[1], &bufs[2], &out])
            .expect("dispatch");
        assert_close(
            &format!("{} {rows}x{outputs}x{inputs}", kernel.describe()),
            &read_f32(ctx, &out),
            &expected,
        );
    }
}

#[test]
fn forward_input_matches_twin() {
    let Some(ctx) = context() else { return };
    check_forward_input(
        &ctx,
        Kernel::ForwardInput,
        cpu::forward_input::forward_input,
        &SHAPES,
    );
}

/// Shapes for the tiled kernels (tiles up to 128 × 64, slices of 8–16): not multiples of any
/// tile side, several tiles and partial slices in every direction, a long K (784) and a batch
/// whose gradient runs over three splits.
const TILED_SHAPES: [Shape; 5] = [
    (5, 3, 8),
    (37, 13, 29),
    (130, 21, 70),
    (1100, 10, 17),
    (70, 133, 45),
];

/// Every tiled form the tuner may choose for `product` on this device (the candidates that
/// fit its limits).
fn tiled_candidates(ctx: &GpuContext, product: Product) -> Vec<Variant> {
    let tiled: Vec<Variant> = product
        .candidates(&ctx.limits)
        .into_iter()
        .filter(|v| v.tile.is_some())
        .collect();
    assert!(!tiled.is_empty(), "no tile fits this device");
    tiled
}

#[test]
fn forward_input_tiled_matches_twin_for_every_tile() {
    let Some(ctx) = context() else { return };
    let shapes: Vec<Shape> = TILED_SHAPES
        .iter()
        .copied()
        .chain([(70, 13, 784)])
        .collect();
    for variant in tiled_candidates(&ctx, Product::ForwardInput) {
        check_forward_input(
            &ctx,
            variant,
            cpu::forward_input_tiled::forward_input_tiled,
            &shapes,
        );
    }
}

fn check_weight_gradient_hidden(ctx: &GpuContext, variant: Variant, shapes: &[Shape]) {
    for (seed, &(rows, outputs, inputs)) in shapes.iter().enumerate() {
        let mut rng = ChaCha8Rng::seed_from_u64(70 + seed as u64);
        let batch = BatchParams::new(0, 3, rows);
        let layer = LayerParams::new(inputs, outputs, 0.7);
        let deltas = uniform(&mut rng, rows * outputs, -0.3, 0.3);
        let activations = uniform(&mut rng, rows * inputs, 0.01, 0.99);
        let partial_len = batch.splits as usize * outputs * inputs;
        let mut expected = vec![0.0; partial_len];
        cpu::weight_gradient_hidden::weight_gradient_hidden(
            &batch,
            &layer,
            &deltas,
            &activations,
            &mut expected,
        );
        let out = poisoned(ctx, partial_len);
        let bufs = [
            ctx.buffer_with("deltas", f32_bytes(&deltas)),
            ctx.buffer_with("activations", f32_bytes(&activations)),
        ];
        ctx.run_once(variant, batch, layer, &[&bufs[0], &bufs[1], &out])
            .expect("dispatch");
        assert_close(
            &format!("{} {rows}x{outputs}x{inputs}", variant.describe()),
            &read_f32(ctx, &out),
            &expected,
        );
    }
}

#[test]
fn weight_gradient_hidden_tiled_matches_twin_for_every_tile() {
    let Some(ctx) = context() else { return };
    for variant in tiled_candidates(&ctx, Product::WeightGradientHidden) {
        check_weight_gradient_hidden(&ctx, variant, &TILED_SHAPES);
    }
}

fn check_weight_gradient_input(ctx: &GpuContext, variant: Variant, shapes: &[Shape]) {
    for (seed, &(rows, outputs, inputs)) in shapes.iter().enumerate() {
        let mut rng = ChaCha8Rng::seed_from_u64(60 + seed as u64);
        let batch = BatchParams::new(0, 3, rows);
        let layer = LayerParams::new(inputs, outputs, 0.7);
        let deltas = uniform(&mut rng, rows * outputs, -0.3, 0.3);
        let images_n = rows + 3;
        let pixels: Vec<u8> = (0..images_n * inputs)
            .map(|_| rng.random_range(1..=255))
            .collect();
        let packed = pack_images(&pixels, inputs);
        let order = shuffled(&mut rng, images_n);
        let partial_len = batch.splits as usize * outputs * inputs;
        let mut expected = vec![0.0; partial_len];
        cpu::weight_gradient_input_tiled::weight_gradient_input_tiled(
            &batch,
            &layer,
            &deltas,
            &packed,
            &order,
            &mut expected,
        );
        let out = poisoned(ctx, partial_len);
        let bufs = [
            ctx.buffer_with("deltas", f32_bytes(&deltas)),
            ctx.buffer_with("images", bytemuck::cast_slice(&packed)),
            ctx.buffer_with("order", bytemuck::cast_slice(&order)),
        ];
        ctx.run_once(variant, batch, layer, &[&bufs[0], &bufs[1], &bufs[2], &out])
            .expect("dispatch");
        assert_close(
            &format!("{} {rows}x{outputs}x{inputs}", variant.describe()),
            &read_f32(ctx, &out),
            &expected,
        );
    }
}

#[test]
fn weight_gradient_input_tiled_matches_twin_for_every_tile() {
    let Some(ctx) = context() else { return };
    for variant in tiled_candidates(&ctx, Product::WeightGradientInput) {
        check_weight_gradient_input(&ctx, variant, &TILED_SHAPES);
    }
}

/// The twin signatures of `forward_hidden` (inputs, parameters) and `backprop_error` (deltas,
/// weights, activations), and of their tiled forms.
type ForwardHiddenTwin = fn(&BatchParams, &LayerParams, &[f32], &[f32], &mut [f32]);
type BackpropErrorTwin = fn(&BatchParams, &LayerParams, &[f32], &[f32], &[f32], &mut [f32]);

/// A twin called on the operands in binding order.
type OperandsTwin<'a> = dyn Fn(&BatchParams, &LayerParams, &[Vec<f32>], &mut [f32]) + 'a;

/// A kernel reading f32 buffers against its twin for one shape: each operand (name, length,
/// value range) drawn at random in order, the output (`out_len` values) poisoned before the run.
fn check_f32_inputs(
    ctx: &GpuContext,
    kernel: Variant,
    twin: &OperandsTwin<'_>,
    (rows, outputs, inputs): Shape,
    seed: u64,
    operands: &[(&str, usize, f32, f32)],
    out_len: usize,
) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let values: Vec<Vec<f32>> = operands
        .iter()
        .map(|&(_, len, low, high)| uniform(&mut rng, len, low, high))
        .collect();
    let (batch, layer) = (batch_of(rows), LayerParams::new(inputs, outputs, 0.5));
    let mut expected = vec![0.0; out_len];
    twin(&batch, &layer, &values, &mut expected);
    let out = poisoned(ctx, out_len);
    let bufs: Vec<wgpu::Buffer> = operands
        .iter()
        .zip(&values)
        .map(|(&(name, ..), v)| ctx.buffer_with(name, f32_bytes(v)))
        .collect();
    let mut storage: Vec<&wgpu::Buffer> = bufs.iter().collect();
    storage.push(&out);
    ctx.run_once(kernel, batch, layer, &storage)
        .expect("dispatch");
    assert_close(
        &format!("{} {rows}x{outputs}x{inputs}", kernel.describe()),
        &read_f32(ctx, &out),
        &expected,
    );
}

fn check_forward_hidden(
    ctx: &GpuContext,
    kernel: impl Into<Variant> + Copy,
    twin: ForwardHiddenTwin,
    shapes: &[Shape],
) {
    for (seed, &(rows, outputs, inputs)) in shapes.iter().enumerate() {
        let operands = [
            ("inputs", rows * inputs, 0.01, 1.0),
            ("parameters", outputs * inputs + outputs, -0.5, 0.5),
        ];
        let shape = (rows, outputs, inputs);
        check_f32_inputs(
            ctx,
            kernel.into(),
            &|b, l, v, out| twin(b, l, &v[0], &v[1], out),
            shape,
            10 + seed as u64,
            &operands,
            rows * outputs,
        );
    }
}

#[test]
fn forward_hidden_matches_twin() {
    let Some(ctx) = context() else { return };
    check_forward_hidden(
        &ctx,
        Kernel::ForwardHidden,
        cpu::forward_hidden::forward_hidden,
        &SHAPES,
    );
}

#[test]
fn forward_hidden_tiled_matches_twin_for_every_tile() {
    let Some(ctx) = context() else { return };
    for variant in tiled_candidates(&ctx, Product::ForwardHidden) {
        check_forward_hidden(
            &ctx,
            variant,
            cpu::forward_hidden_tiled::forward_hidden_tiled,
            &TILED_SHAPES,
        );
    }
}

#[test]
fn output_error_and_batch_cost_match_twins() {
    let Some(ctx) = context() else { return };
    for (seed, &(rows, outputs, _)) in SHAPES.iter().enumerate() {
        let mut rng = ChaCha8Rng::seed_from_u64(20 + seed as u64);
        let images_n = rows + 5;
        let activations = uniform(&mut rng, rows * outputs, 0.01, 0.99);
        let labels: Vec<u32> = (0..images_n)
            .map(|_| rng.random_range(0..outputs as u32))
            .collect();
        let order = shuffled(&mut rng, images_n);
        let batch = BatchParams::new(2, 4, rows);
        let layer = LayerParams::new(7, outputs, 0.5);
        let mut deltas = vec![0.0; rows * outputs];
        cpu::output_error::output_error(&batch, &layer, &activations, &labels, &order, &mut deltas);
        let mut costs = vec![0.0f32; 4];
        cpu::batch_cost::batch_cost(&batch, &layer, &activations, &labels, &order, &mut costs);

        let gpu_deltas = poisoned(&ctx, rows * outputs);
        let gpu_costs = poisoned(&ctx, 4);
        let bufs = [
            ctx.buffer_with("activations", f32_bytes(&activations)),
            ctx.buffer_with("labels", bytemuck::cast_slice(&labels)),
            ctx.buffer_with("order", bytemuck::cast_slice(&order)),
        ];
        ctx.run_once(
            Kernel::OutputError,
            batch,
            layer,
            &[&bufs[0], &bufs[1], &bufs[2], &gpu_deltas],
        )
        .expect("dispatch");
        ctx.run_once(
            Kernel::BatchCost,
            batch,
            layer,
            &[&bufs[0], &bufs[1], &bufs[2], &gpu_costs],
        )
        .expect("dispatch");
        assert_close("output_error deltas", &read_f32(&ctx, &gpu_deltas), &deltas);
        let gpu_cost = read_f32(&ctx, &gpu_costs)[2];
        assert_close("batch_cost", &[gpu_cost], &costs[2..3]);
    }
}

fn check_backprop_error(
    ctx: &GpuContext,
    kernel: impl Into<Variant> + Copy,
    twin: BackpropErrorTwin,
    shapes: &[Shape],
) {
    for (seed, &(rows, outputs, inputs)) in shapes.iter().enumerate() {
        let operands = [
            ("deltas", rows * outputs, -0.3, 0.3),
            ("weights", outputs * inputs, -0.5, 0.5),
            ("activations", rows * inputs, 0.01, 0.99),
        ];
        let shape = (rows, outputs, inputs);
        check_f32_inputs(
            ctx,
            kernel.into(),
            &|b, l, v, out| twin(b, l, &v[0], &v[1], &v[2], out),
            shape,
            30 + seed as u64,
            &operands,
            rows * inputs,
        );
    }
}

#[test]
fn backprop_error_matches_twin() {
    let Some(ctx) = context() else { return };
    check_backprop_error(
        &ctx,
        Kernel::BackpropError,
        cpu::backprop_error::backprop_error,
        &SHAPES,
    );
}

#[test]
fn backprop_error_tiled_matches_twin_for_every_tile() {
    let Some(ctx) = context() else { return };
    for variant in tiled_candidates(&ctx, Product::BackpropError) {
        check_backprop_error(
            &ctx,
            variant,
            cpu::backprop_error_tiled::backprop_error_tiled,
            &TILED_SHAPES,
        );
    }
}

#[test]
fn weight_gradients_and_updates_match_twins() {
    let Some(ctx) = context() else { return };
    for (seed, &(rows, outputs, inputs)) in SHAPES.iter().enumerate() {
        let mut rng = ChaCha8Rng::seed_from_u64(40 + seed as u64);
        let batch = BatchParams::new(0, 3, rows);
        assert!(
            rows < 1000 || batch.splits > 1,
            "the tall shape must use several splits"
        );
        let layer = LayerParams::new(inputs, outputs, 0.7);
        let deltas = uniform(&mut rng, rows * outputs, -0.3, 0.3);
        let activations = uniform(&mut rng, rows * inputs, 0.01, 0.99);
        let images_n = rows + 3;
        let pixels: Vec<u8> = (0..images_n * inputs)
            .map(|_| rng.random_range(1..=255))
            .collect();
        let packed = pack_images(&pixels, inputs);
        let order = shuffled(&mut rng, images_n);
        let weights = uniform(&mut rng, outputs * inputs, -0.5, 0.5);
        // bias_update's buffer is a layer's parameters: weights, then the biases it updates.
        let biases = uniform(&mut rng, outputs * inputs + outputs, -0.5, 0.5);
        let partial_len = batch.splits as usize * outputs * inputs;

        let mut hidden_partials = vec![0.0; partial_len];
        cpu::weight_gradient_hidden::weight_gradient_hidden(
            &batch,
            &layer,
            &deltas,
            &activations,
            &mut hidden_partials,
        );
        let mut input_partials = vec![0.0; partial_len];
        cpu::weight_gradient_input::weight_gradient_input(
            &batch,
            &layer,
            &deltas,
            &packed,
            &order,
            &mut input_partials,
        );
        let mut updated = weights.clone();
        cpu::weight_update::weight_update(&batch, &layer, &hidden_partials, &mut updated);
        let mut new_biases = biases.clone();
        cpu::bias_update::bias_update(&batch, &layer, &deltas, &mut new_biases);

        let gpu_deltas = ctx.buffer_with("deltas", f32_bytes(&deltas));
        let gpu_hidden = poisoned(&ctx, partial_len);
        let gpu_input = poisoned(&ctx, partial_len);
        let gpu_activations = ctx.buffer_with("activations", f32_bytes(&activations));
        let gpu_images = ctx.buffer_with("images", bytemuck::cast_slice(&packed));
        let gpu_order = ctx.buffer_with("order", bytemuck::cast_slice(&order));
        let gpu_weights = ctx.buffer_with("weights", f32_bytes(&weights));
        let gpu_biases = ctx.buffer_with("biases", f32_bytes(&biases));
        ctx.run_once(
            Kernel::WeightGradientHidden,
            batch,
            layer,
            &[&gpu_deltas, &gpu_activations, &gpu_hidden],
        )
        .expect("dispatch");
        ctx.run_once(
            Kernel::WeightGradientInput,
            batch,
            layer,
            &[&gpu_deltas, &gpu_images, &gpu_order, &gpu_input],
        )
        .expect("dispatch");
        assert_close(
            "weight_gradient_hidden",
            &read_f32(&ctx, &gpu_hidden),
            &hidden_partials,
        );
        assert_close(
            "weight_gradient_input",
            &read_f32(&ctx, &gpu_input),
            &input_partials,
        );

        ctx.run_once(
            Kernel::WeightUpdate,
            batch,
            layer,
            &[&gpu_hidden, &gpu_weights],
        )
        .expect("dispatch");
        ctx.run_once(
            Kernel::BiasUpdate,
            batch,
            layer,
            &[&gpu_deltas, &gpu_biases],
        )
        .expect("dispatch");
        assert_close("weight_update", &read_f32(&ctx, &gpu_weights), &updated);
        assert_close("bias_update", &read_f32(&ctx, &gpu_biases), &new_biases);
    }
}

/// `weight_update_vec4` on layers with a multiple of 4 weights, over 1 to 3 splits: every
/// weight moves by lr·Σ partials (nonzero), so a skipped quad would be far outside tolerance.
#[test]
fn weight_update_vec4_matches_twin() {
    let Some(ctx) = context() else { return };
    for (seed, &(rows, outputs, inputs)) in [(5, 3, 8), (600, 13, 28), (1100, 10, 128), (37, 7, 36)]
        .iter()
        .enumerate()
    {
        let mut rng = ChaCha8Rng::seed_from_u64(80 + seed as u64);
        let batch = BatchParams::new(0, 0, rows);
        let layer = LayerParams::new(inputs, outputs, 0.7);
        assert_eq!(Kernel::weight_update_for(&layer), Kernel::WeightUpdateVec4);
        let partials = uniform(
            &mut rng,
            batch.splits as usize * outputs * inputs,
            -0.3,
            0.3,
        );
        let weights = uniform(&mut rng, outputs * inputs, -0.5, 0.5);
        let mut expected = weights.clone();
        cpu::weight_update_vec4::weight_update_vec4(&batch, &layer, &partials, &mut expected);
        let gpu_partials = ctx.buffer_with("partials", f32_bytes(&partials));
        let gpu_weights = ctx.buffer_with("weights", f32_bytes(&weights));
        ctx.run_once(
            Kernel::WeightUpdateVec4,
            batch,
            layer,
            &[&gpu_partials, &gpu_weights],
        )
        .expect("dispatch");
        assert_close(
            &format!("weight_update_vec4 {rows}x{outputs}x{inputs}"),
            &read_f32(&ctx, &gpu_weights),
            &expected,
        );
    }
    assert_eq!(
        Kernel::weight_update_for(&LayerParams::new(29, 13, 0.5)),
        Kernel::WeightUpdate
    );
}

/// `bias_update_vec4` on layers with a multiple of 4 outputs: every bias moves by
/// lr·Σ deltas (nonzero), so a skipped quad would be far outside tolerance.
#[test]
fn bias_update_vec4_matches_twin() {
    let Some(ctx) = context() else { return };
    for (seed, &(rows, outputs)) in [(5, 4), (37, 12), (1100, 128)].iter().enumerate() {
        let mut rng = ChaCha8Rng::seed_from_u64(90 + seed as u64);
        let batch = BatchParams::new(0, 0, rows);
        let layer = LayerParams::new(9, outputs, 0.7);
        assert_eq!(Kernel::bias_update_for(&layer), Kernel::BiasUpdateVec4);
        let deltas = uniform(&mut rng, rows * outputs, -0.3, 0.3);
        // The layer's parameters: 9·outputs weights (untouched), then the biases.
        let biases = uniform(&mut rng, outputs * 9 + outputs, -0.5, 0.5);
        let mut expected = biases.clone();
        cpu::bias_update_vec4::bias_update_vec4(&batch, &layer, &deltas, &mut expected);
        let gpu_deltas = ctx.buffer_with("deltas", f32_bytes(&deltas));
        let gpu_biases = ctx.buffer_with("biases", f32_bytes(&biases));
        ctx.run_once(
            Kernel::BiasUpdateVec4,
            batch,
            layer,
            &[&gpu_deltas, &gpu_biases],
        )
        .expect("dispatch");
        assert_close(
            &format!("bias_update_vec4 {rows}x{outputs}"),
            &read_f32(&ctx, &gpu_biases),
            &expected,
        );
    }
    assert_eq!(
        Kernel::bias_update_for(&LayerParams::new(9, 10, 0.5)),
        Kernel::BiasUpdate
    );
}

#[test]
fn evaluate_matches_twin() {
    let Some(ctx) = context() else { return };
    for (seed, &(rows, outputs, _)) in SHAPES.iter().enumerate() {
        let mut rng = ChaCha8Rng::seed_from_u64(50 + seed as u64);
        let images_n = rows + 6;
        let activations = uniform(&mut rng, rows * outputs, 0.0, 1.0);
        let labels: Vec<u32> = (0..images_n)
            .map(|_| rng.random_range(0..outputs as u32))
            .collect();
        let batch = BatchParams::new(0, 6, rows);
        let layer = LayerParams::new(7, outputs, 0.5);
        let mut predictions = vec![u32::MAX; images_n];
        let mut correct = 0u32;
        cpu::evaluate::evaluate(
            &batch,
            &layer,
            &activations,
            &labels,
            &mut predictions,
            &mut correct,
        );

        let gpu_predictions = ctx.buffer_with(
            "predictions",
            bytemuck::cast_slice(&vec![u32::MAX; images_n]),
        );
        let gpu_correct = ctx.buffer_with("correct", bytemuck::cast_slice(&[0u32]));
        let bufs = [
            ctx.buffer_with("activations", f32_bytes(&activations)),
            ctx.buffer_with("labels", bytemuck::cast_slice(&labels)),
        ];
        ctx.run_once(
            Kernel::Evaluate,
            batch,
            layer,
            &[&bufs[0], &bufs[1], &gpu_predictions, &gpu_correct],
        )
        .expect("dispatch");
        assert_eq!(
            read_u32(&ctx, &gpu_predictions),
            predictions,
            "predictions {rows}x{outputs}"
        );
        assert_eq!(
            read_u32(&ctx, &gpu_correct),
            vec![correct],
            "correct count {rows}x{outputs}"
        );
    }
}

/// 300 random 28×28 images (and 100 test images) with random labels.
fn synthetic(seed: u64) -> Mnist {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut split = |n: usize| Dataset {
        images: (0..n * 784).map(|_| rng.random_range(0..=255)).collect(),
        labels: (0..n).map(|_| rng.random_range(0..10)).collect(),
        rows: 28,
        cols: 28,
    };
    Mnist::new(split(300), split(100), "synthetic".into())
}

/// Batches of 64 over 300 images: the last batch has 44 rows.
const HYPER: Hyper = Hyper {
    batch_size: 64,
    learning_rate: 2.0,
};

/// Relative difference, NaN-safe (NaN compares false, so the caller's `<=` fails).
fn relative(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs().max(1e-12)
}

/// Largest parameter difference between two networks of the same shape.
fn max_parameter_difference(a: &Network, b: &Network) -> f32 {
    let mut worst = 0.0f32;
    for (la, lb) in a.layers.iter().zip(&b.layers) {
        for (x, y) in la
            .weights
            .iter()
            .chain(&la.biases)
            .zip(lb.weights.iter().chain(&lb.biases))
        {
            let d = (x - y).abs();
            worst = if d.is_nan() {
                f32::INFINITY
            } else {
                worst.max(d)
            };
        }
    }
    worst
}

/// The f64 reference over the same round: its mean batch cost and its parameters.
fn reference_round(net: &Network, data: &Mnist, order: Option<&[u32]>) -> (f64, RefNetwork) {
    let mut reference = RefNetwork::from_network(net);
    let mut total = 0.0;
    let mut count = 0;
    for (first, rows) in batches(data.train.len(), HYPER.batch_size) {
        let picked: Vec<usize> = (first..first + rows)
            .map(|p| order.map_or(p, |o| o[p] as usize))
            .collect();
        let inputs: Vec<Vec<f64>> = picked
            .iter()
            .map(|&i| input_of(data.train.image(i)))
            .collect();
        let labels: Vec<u8> = picked.iter().map(|&i| data.train.labels[i]).collect();
        total += reference.step(&inputs, &labels, f64::from(HYPER.learning_rate));
        count += 1;
    }
    (total / count as f64, reference)
}

/// The plans a whole round is checked with: the tiled kernels with the tiles a discrete GPU
/// gets untuned, and the register-block kernels a software adapter gets.
fn round_plans(ctx: &GpuContext) -> Vec<KernelPlan> {
    let discrete = wgpu::AdapterInfo {
        device_type: wgpu::DeviceType::DiscreteGpu,
        ..ctx.info.clone()
    };
    let gpu_plan = KernelPlan::default_for(&discrete, &ctx.limits);
    assert_eq!(
        gpu_plan,
        KernelPlan::tiled_defaults(),
        "the discrete-GPU default tiles must fit every device shape CI runs"
    );
    vec![gpu_plan, KernelPlan::register_blocks()]
}

fn round_matches_cpu_and_reference(shuffle: bool) {
    let Some(ctx) = context() else { return };
    for plan in round_plans(&ctx) {
        println!("plan: {}", plan.describe());
        round_matches_with(Arc::clone(&ctx), plan, shuffle);
    }
}

fn round_matches_with(ctx: Arc<GpuContext>, plan: KernelPlan, shuffle: bool) {
    let data = synthetic(7);
    let net = Network::new(&[16, 16], 42).expect("network");
    let order = shuffle.then(|| round_order(42, 1, data.train.len()));
    let mut gpu = GpuEngine::with_plan(ctx, plan, net.clone(), &data, HYPER).expect("gpu engine");
    let mut cpu_engine = CpuEngine::new(net.clone(), &data, HYPER).expect("cpu engine");
    let gpu_cost = gpu.train_round(order.as_deref()).expect("gpu round");
    let cpu_cost = cpu_engine.train_round(order.as_deref()).expect("cpu round");
    let (ref_cost, reference) = reference_round(&net, &data, order.as_deref());
    // f32 engines against each other and against f64: five batches of ≤ 64 rows through
    // 784-16-16-10 lose a few f32 ulps per sum; 1e-4 relative is the CLI's promise.
    assert!(
        relative(gpu_cost, cpu_cost) <= 1e-4,
        "cost gpu {gpu_cost} vs cpu {cpu_cost}"
    );
    assert!(
        relative(gpu_cost, ref_cost) <= 1e-4,
        "cost gpu {gpu_cost} vs reference {ref_cost}"
    );

    let gpu_net = gpu.network().expect("gpu network");
    let cpu_net = cpu_engine.network().expect("cpu network");
    // Parameters are O(0.5) and move by lr·gradient steps; 1e-4 absolute is ~1000 f32 ulps.
    let diff = max_parameter_difference(&gpu_net, &cpu_net);
    assert!(
        diff <= 1e-4,
        "parameters differ from the CPU engine's by {diff}"
    );
    let mut worst = 0.0f64;
    for (l, layer) in gpu_net.layers.iter().enumerate() {
        for o in 0..layer.outputs {
            for i in 0..layer.inputs {
                let d = (f64::from(layer.weights[o * layer.inputs + i])
                    - reference.weights[l][o][i])
                    .abs();
                worst = if d.is_nan() {
                    f64::INFINITY
                } else {
                    worst.max(d)
                };
            }
            let d = (f64::from(layer.biases[o]) - reference.biases[l][o]).abs();
            worst = if d.is_nan() {
                f64::INFINITY
            } else {
                worst.max(d)
            };
        }
    }
    assert!(
        worst <= 1e-4,
        "parameters differ from the reference's by {worst}"
    );

    // Evaluation on the GPU agrees with the CPU engine image by image.
    for split in [Split::Train, Split::Test] {
        let gpu_predictions = gpu.predictions(split).expect("gpu predictions");
        let cpu_predictions = cpu_engine.predictions(split).expect("cpu predictions");
        assert_eq!(gpu_predictions, cpu_predictions, "{split:?} predictions");
        let expected = cpu_engine.correct(split).expect("cpu correct");
        assert_eq!(
            gpu.correct(split).expect("gpu correct"),
            expected,
            "{split:?} correct"
        );
    }
    let gpu_out = gpu.outputs(Split::Test, 3).expect("gpu outputs");
    let cpu_out = cpu_engine.outputs(Split::Test, 3).expect("cpu outputs");
    assert_close("outputs of test image 3", &gpu_out, &cpu_out);
}

#[test]
fn one_round_matches_cpu_engine_and_reference() {
    round_matches_cpu_and_reference(false);
}

#[test]
fn one_shuffled_round_matches_cpu_engine_and_reference() {
    round_matches_cpu_and_reference(true);
}

#[test]
fn a_round_reads_back_one_f32_per_batch() {
    let Some(ctx) = context() else { return };
    let data = synthetic(8);
    let net = Network::new(&[16], 1).expect("network");
    let mut gpu = GpuEngine::new(ctx, net, &data, HYPER).expect("gpu engine");
    let batches = data.train.len().div_ceil(HYPER.batch_size) as u64;
    let before = gpu.readback_stats();
    gpu.train_round(None).expect("round");
    let order = round_order(3, 2, data.train.len());
    gpu.train_round(Some(&order)).expect("shuffled round");
    let after = gpu.readback_stats();
    assert_eq!(after.calls - before.calls, 2, "one readback per round");
    assert_eq!(
        after.bytes - before.bytes,
        2 * batches * 4,
        "one f32 per batch"
    );
    gpu.correct(Split::Test).expect("correct");
    let counted = gpu.readback_stats();
    assert_eq!(
        (counted.calls, counted.bytes),
        (after.calls + 1, after.bytes + 4)
    );
}

#[test]
fn a_bad_order_is_a_clear_error() {
    let Some(ctx) = context() else { return };
    let data = synthetic(9);
    let net = Network::new(&[16], 1).expect("network");
    let mut gpu = GpuEngine::new(ctx, net, &data, HYPER).expect("gpu engine");
    let err = gpu.train_round(Some(&[0, 1, 2])).expect_err("short order");
    assert!(err.to_string().contains("order"), "{err}");
    let err = gpu.outputs(Split::Test, 100).expect_err("out of range");
    assert!(err.to_string().contains("out of range"), "{err}");
}

/// The forms each kernel is compiled in: the tiled kernels once per candidate tile.
fn every_variant() -> Vec<Variant> {
    Kernel::ALL
        .into_iter()
        .flat_map(|kernel| -> Vec<Variant> {
            if kernel.is_tiled() {
                Tile::CANDIDATES
                    .into_iter()
                    .map(|t| Variant::tiled(kernel, t))
                    .collect()
            } else {
                vec![kernel.into()]
            }
        })
        .collect()
}

/// Every composed variant parses and validates with naga, before and after its overrides are
/// applied with the values the pipelines use; its workgroup size is the one the dispatch
/// arithmetic assumes, and its bindings (names, uniform or storage, access modes) read back
/// through naga are exactly the kernel table's row.
#[test]
fn every_variant_validates_with_naga_and_matches_the_table() {
    for variant in every_variant() {
        let name = variant.describe();
        let source = variant.source().expect("compose");
        let module = naga::front::wgsl::parse_str(&source)
            .unwrap_or_else(|e| panic!("{name}: {}", e.emit_to_string(&source)));
        let mut validator = naga::valid::Validator::new(
            naga::valid::ValidationFlags::all(),
            naga::valid::Capabilities::empty(),
        );
        let info = validator
            .validate(&module)
            .unwrap_or_else(|e| panic!("{name}: {}", e.emit_to_string(&source)));
        let mut constants = naga::back::PipelineConstants::default();
        for (key, value) in variant.constants() {
            constants.insert(key.to_string(), value);
        }
        let (resolved, _) = naga::back::pipeline_constants::process_overrides(
            &module,
            &info,
            Some((naga::ShaderStage::Compute, "main")),
            &constants,
        )
        .unwrap_or_else(|e| panic!("{name}: overrides: {e}"));
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
        assert_eq!(declares_activation, spec.activation, "{name}: ACTIVATION");

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
        for (i, (binding, access)) in spec.storage.iter().enumerate() {
            expected.push((2 + i as u32, (*binding).to_string(), Some(*access)));
        }
        assert_eq!(
            bindings, expected,
            "{name}: bindings against the kernel table"
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

/// An API with no adapter on this machine is a one-line error that says what to do.
#[test]
fn a_missing_backend_is_a_clear_error() {
    let missing = if cfg!(target_os = "macos") {
        wgpu::Backends::DX12
    } else {
        wgpu::Backends::METAL
    };
    let err = GpuContext::new(AdapterRequest {
        backends: missing,
        allow_software: true,
    })
    .err()
    .expect("no adapter for a foreign API");
    let message = err.to_string();
    assert!(matches!(err, mnist_gpu::Error::NoAdapter(_)), "{message}");
    assert!(
        message.contains("--cpu") && !message.contains('\n'),
        "{message}"
    );
}

/// A full batch needs only the layers' outputs resident (not rows×784 f32): the size checks
/// must let it through and the round must run.
#[test]
fn a_full_batch_round_runs() {
    let Some(ctx) = context() else { return };
    let data = synthetic(11);
    let full = Hyper {
        batch_size: data.train.len(),
        learning_rate: 2.0,
    };
    let net = Network::new(&[16], 1).expect("network");
    let mut cpu_engine = CpuEngine::new(net.clone(), &data, full).expect("cpu engine");
    let cpu_cost = cpu_engine.train_round(None).expect("cpu round");
    for plan in round_plans(&ctx) {
        let mut gpu = GpuEngine::with_plan(Arc::clone(&ctx), plan, net.clone(), &data, full)
            .expect("gpu engine");
        let gpu_cost = gpu.train_round(None).expect("gpu round");
        // One 300-row batch: f32 sums in another order, far below 1e-4 relative.
        assert!(
            relative(gpu_cost, cpu_cost) <= 1e-4,
            "gpu {gpu_cost} vs cpu {cpu_cost} ({})",
            plan.describe()
        );
    }
}

/// A lost device (here destroyed on purpose) turns into an `Error::Gpu`, never a hang or panic.
#[test]
fn a_lost_device_is_a_gpu_error() {
    if context().is_none() {
        return;
    }
    let ctx = Arc::new(
        GpuContext::new(AdapterRequest {
            backends: wgpu::Backends::from_env().unwrap_or(wgpu::Backends::PRIMARY),
            allow_software: true,
        })
        .expect("a second context"),
    );
    let data = synthetic(12);
    let net = Network::new(&[16], 1).expect("network");
    let mut gpu = GpuEngine::new(Arc::clone(&ctx), net, &data, HYPER).expect("gpu engine");
    ctx.device.destroy();
    let err = gpu
        .train_round(None)
        .expect_err("a round on a destroyed device");
    println!("a round on a destroyed device: {err}");
    assert!(matches!(err, mnist_gpu::Error::Gpu(_)), "{err}");
    let err = gpu
        .correct(Split::Test)
        .expect_err("evaluation on a destroyed device");
    assert!(matches!(err, mnist_gpu::Error::Gpu(_)), "{err}");
}

/// The tuner times the candidates, keeps a plan whose every product agrees with its twin,
/// stores it in the cache folder it is given (never the user's: a temporary folder here), and
/// the next call for the same adapter and shape reuses it without timing anything.
#[test]
fn tuning_is_cached_per_adapter_and_shape() {
    use mnist_gpu::engine::gpu::tune::{PlanSource, TuneMode, choose_plan};
    let Some(ctx) = context() else { return };
    let dir = tempfile::tempdir().expect("temp dir");
    let sizes = [40, 24, 10];
    let first = choose_plan(&ctx, &sizes, 150, TuneMode::Quick, Some(dir.path())).expect("tune");
    println!("{}", first.summary());
    assert!(
        matches!(&first.source, PlanSource::Tuned { cached: Ok(path), .. } if path.starts_with(dir.path())),
        "{:?}",
        first.source
    );
    assert!(!first.timings.is_empty());
    for timing in &first.timings {
        assert!(
            timing.seconds > 0.0 && timing.seconds.is_finite(),
            "{timing:?}"
        );
    }
    let again = choose_plan(&ctx, &sizes, 150, TuneMode::Quick, Some(dir.path())).expect("cache");
    assert!(
        matches!(again.source, PlanSource::Cache(_)),
        "{:?}",
        again.source
    );
    assert_eq!(again.plan, first.plan);
    assert!(again.summary().contains("reused"), "{}", again.summary());
    // Another shape is tuned afresh; --tune off takes the class default and times nothing.
    let other = choose_plan(&ctx, &sizes, 90, TuneMode::Quick, Some(dir.path())).expect("tune");
    assert!(
        matches!(other.source, PlanSource::Tuned { .. }),
        "{:?}",
        other.source
    );
    let off = choose_plan(&ctx, &sizes, 150, TuneMode::Off, Some(dir.path())).expect("off");
    assert_eq!(off.source, PlanSource::Default);
    assert_eq!(off.plan, KernelPlan::default_for(&ctx.info, &ctx.limits));
    let tiled = choose_plan(&ctx, &sizes, 150, TuneMode::Tiled, Some(dir.path())).expect("tiled");
    assert_eq!(tiled.source, PlanSource::TiledDefault);
    assert_eq!(tiled.plan, KernelPlan::tiled_defaults());
    // A corrupt cache file is ignored and replaced; a cache folder that cannot be created
    // leaves the tuned plan in use and says why it was not cached.
    let file = dir.path().join("kernel-plans.json");
    std::fs::write(&file, b"{ not json").expect("corrupt the cache");
    let fresh = choose_plan(&ctx, &sizes, 150, TuneMode::Quick, Some(dir.path())).expect("tune");
    assert!(
        matches!(fresh.source, PlanSource::Tuned { cached: Ok(_), .. }),
        "{:?}",
        fresh.source
    );
    let reused = choose_plan(&ctx, &sizes, 150, TuneMode::Quick, Some(dir.path())).expect("cache");
    assert!(
        matches!(reused.source, PlanSource::Cache(_)),
        "{:?}",
        reused.source
    );
    let blocked = dir.path().join("a-file");
    std::fs::write(&blocked, b"").expect("file");
    let uncached = choose_plan(&ctx, &sizes, 150, TuneMode::Quick, Some(&blocked)).expect("tune");
    assert!(
        matches!(uncached.source, PlanSource::Tuned { cached: Err(_), .. }),
        "{:?}",
        uncached.source
    );
    assert!(
        uncached.summary().contains("not cached"),
        "{}",
        uncached.summary()
    );
    // A round with the tuned plan matches the CPU engine.
    let data = synthetic(13);
    let net = Network::new(&[24], 3).expect("network");
    let mut gpu = GpuEngine::with_plan(Arc::clone(&ctx), first.plan, net.clone(), &data, HYPER)
        .expect("gpu engine");
    let mut cpu_engine = CpuEngine::new(net, &data, HYPER).expect("cpu engine");
    let (g, c) = (
        gpu.train_round(None).expect("gpu round"),
        cpu_engine.train_round(None).expect("cpu round"),
    );
    assert!(relative(g, c) <= 1e-4, "gpu {g} vs cpu {c}");
}

/// `softmax` in place (its input is its output, so it cannot be poisoned: a row it skipped
/// keeps values that are not probabilities and fails), then `output_error_xent` and
/// `batch_cost_xent` on the twin's probabilities, outputs poisoned.
#[test]
fn softmax_and_cross_entropy_kernels_match_twins() {
    let Some(ctx) = context() else { return };
    for (seed, &(rows, outputs, _)) in SHAPES.iter().enumerate() {
        let mut rng = ChaCha8Rng::seed_from_u64(60 + seed as u64);
        let images_n = rows + 5;
        // Pre-activations wide enough that an unshifted exp would lose the small classes.
        let z = uniform(&mut rng, rows * outputs, -30.0, 30.0);
        let labels: Vec<u32> = (0..images_n)
            .map(|_| rng.random_range(0..outputs as u32))
            .collect();
        let order = shuffled(&mut rng, images_n);
        let batch = BatchParams::new(2, 4, rows);
        let layer = LayerParams::new(7, outputs, 0.5);

        let mut p = z.clone();
        cpu::softmax::softmax(&batch, &layer, &mut p);
        let gpu_p = ctx.buffer_with("activations", f32_bytes(&z));
        ctx.run_once(Kernel::Softmax, batch, layer, &[&gpu_p])
            .expect("dispatch");
        // exp of arguments ≤ 0 and one division: a few ulps of values ≤ 1.
        assert_close("softmax", &read_f32(&ctx, &gpu_p), &p);

        let mut deltas = vec![0.0; rows * outputs];
        cpu::output_error_xent::output_error_xent(&batch, &layer, &p, &labels, &order, &mut deltas);
        let mut costs = vec![0.0f32; 4];
        cpu::batch_cost_xent::batch_cost_xent(&batch, &layer, &p, &labels, &order, &mut costs);
        let gpu_deltas = poisoned(&ctx, rows * outputs);
        let gpu_costs = poisoned(&ctx, 4);
        let bufs = [
            ctx.buffer_with("activations", f32_bytes(&p)),
            ctx.buffer_with("labels", bytemuck::cast_slice(&labels)),
            ctx.buffer_with("order", bytemuck::cast_slice(&order)),
        ];
        for (kernel, out) in [
            (Kernel::OutputErrorXent, &gpu_deltas),
            (Kernel::BatchCostXent, &gpu_costs),
        ] {
            ctx.run_once(kernel, batch, layer, &[&bufs[0], &bufs[1], &bufs[2], out])
                .expect("dispatch");
        }
        assert_close("output_error_xent", &read_f32(&ctx, &gpu_deltas), &deltas);
        let cost = read_f32(&ctx, &gpu_costs)[2];
        // An f32 log and an f32 sum of ≤ 1100 terms against an f64 sum: relative 2e-4 holds.
        assert_close("batch_cost_xent", &[cost], &costs[2..3]);
        assert!(costs[2] > 0.1, "the random labels must cost something");
    }
}

fn optimizers() -> Vec<Optimizer> {
    let s = OptimizerSettings::default();
    let mut all = Vec::new();
    for name in Optimizer::NAMES {
        for nesterov in [false, true] {
            if nesterov && name != "momentum" {
                continue;
            }
            let settings = OptimizerSettings {
                nesterov,
                weight_decay: 0.1,
                ..s
            };
            all.push(Optimizer::from_name(name, settings).expect("optimizer"));
        }
    }
    all
}

/// `weight_step` and `bias_step` for every optimiser at step 3 of a scheduled rate, on random
/// parameters, moments (second moments positive) and gradients, against their twins. The
/// parameters and moments are both read and written, so they start as random values, not NaN:
/// an element a kernel skips keeps its old value, which differs from the twin's stepped one.
#[test]
fn optimizer_step_kernels_match_twins() {
    let Some(ctx) = context() else { return };
    for optimizer in optimizers() {
        for (seed, &(rows, outputs, inputs)) in SHAPES.iter().enumerate() {
            let mut rng = ChaCha8Rng::seed_from_u64(80 + seed as u64);
            let step = optimizer.scalars(0.01, 3);
            let batch = BatchParams::new(0, 0, rows).with_step(step);
            let layer = LayerParams::new(inputs, outputs, 0.5).with_optimizer(optimizer);
            let count = (inputs + 1) * outputs;
            let splits = batch.splits as usize;
            let partials = uniform(&mut rng, splits * outputs * inputs, -0.2, 0.2);
            let deltas = uniform(&mut rng, rows * outputs, -0.05, 0.05);
            let parameters = uniform(&mut rng, count, -0.5, 0.5);
            let mut moments = uniform(&mut rng, count, -0.01, 0.01);
            moments.extend(uniform(&mut rng, count, 1e-4, 1e-3));
            let (mut want_p, mut want_m) = (parameters.clone(), moments.clone());
            cpu::weight_step::weight_step(&batch, &layer, &partials, &mut want_p, &mut want_m);
            cpu::bias_step::bias_step(&batch, &layer, &deltas, &mut want_p, &mut want_m);

            let gpu_p = ctx.buffer_with("parameters", f32_bytes(&parameters));
            let gpu_m = ctx.buffer_with("moments", f32_bytes(&moments));
            let gpu_partials = ctx.buffer_with("partials", f32_bytes(&partials));
            let gpu_deltas = ctx.buffer_with("deltas", f32_bytes(&deltas));
            ctx.run_once(
                Kernel::WeightStep,
                batch,
                layer,
                &[&gpu_partials, &gpu_p, &gpu_m],
            )
            .expect("dispatch");
            ctx.run_once(
                Kernel::BiasStep,
                batch,
                layer,
                &[&gpu_deltas, &gpu_p, &gpu_m],
            )
            .expect("dispatch");
            // Sums of ≤ 1100 terms in another order, then Adam's m̂/(√v̂ + ε) with v̂ ≥ 1e-4:
            // a relative error of a few ulps in g moves p by ~1e-8 (the 2e-4 bound's margin).
            let what = format!("{} {rows}x{outputs}x{inputs}", optimizer.describe());
            assert_close(
                &format!("{what} parameters"),
                &read_f32(&ctx, &gpu_p),
                &want_p,
            );
            assert_close(&format!("{what} moments"), &read_f32(&ctx, &gpu_m), &want_m);
            assert!(
                want_p.iter().zip(&parameters).any(|(a, b)| a != b),
                "{what}: the step must move the parameters"
            );
        }
    }
}

/// A recipe beyond the tutorial's: network shape and the optimiser, schedule and rate.
fn recipe_net(arch: Architecture) -> Network {
    let init = if arch.activation == Activation::Sigmoid {
        Init::Uniform
    } else {
        Init::He
    };
    Network::build(&[784, 24, 12, 10], arch, init, 42).expect("network")
}

fn recipe(optimizer: Optimizer, schedule: LrSchedule, lr: f32, warmup: f64) -> Recipe {
    let hyper = Hyper {
        batch_size: 64,
        learning_rate: lr,
    };
    Recipe {
        hyper,
        optimizer,
        lr: LrPlan {
            base: lr,
            schedule,
            warmup,
            rounds: 5,
        },
        dropout: Dropout::default(),
        seed: 42,
        first_round: 1,
    }
}

/// The recipes the GPU is checked on against the CPU engine: each optimiser, each loss and
/// each schedule at least once.
fn gpu_recipes() -> Vec<(Architecture, Recipe)> {
    let s = OptimizerSettings::default();
    let relu_xent = Architecture {
        activation: Activation::Relu,
        loss: Loss::Xent,
    };
    let tanh_xent = Architecture {
        activation: Activation::Tanh,
        loss: Loss::Xent,
    };
    let sigmoid_mse = Architecture::default();
    let optimizer = |name: &str, nesterov: bool| {
        Optimizer::from_name(name, OptimizerSettings { nesterov, ..s }).expect("optimizer")
    };
    vec![
        (
            relu_xent,
            recipe(optimizer("adam", false), LrSchedule::Cosine, 2e-3, 0.0),
        ),
        (
            tanh_xent,
            recipe(optimizer("adamw", false), LrSchedule::Cosine, 1e-3, 0.5),
        ),
        (
            sigmoid_mse,
            recipe(
                optimizer("momentum", true),
                LrSchedule::Step {
                    every: 2,
                    gamma: 0.5,
                },
                0.5,
                0.0,
            ),
        ),
        (
            relu_xent,
            recipe(optimizer("sgd", false), LrSchedule::Constant, 0.1, 1.0),
        ),
        (
            relu_xent,
            Recipe {
                dropout: Dropout::new(0.3).expect("rate"),
                ..recipe(optimizer("adam", false), LrSchedule::Cosine, 2e-3, 0.0)
            },
        ),
        (
            sigmoid_mse,
            Recipe {
                dropout: Dropout::new(0.5).expect("rate"),
                ..recipe(optimizer("sgd", false), LrSchedule::Constant, 0.5, 0.0)
            },
        ),
    ]
}

/// Five shuffled rounds of each recipe on the GPU (both kernel plans) track the CPU engine:
/// every round's cost within 1e-4 relative, the same predictions, and the optimiser state
/// (moments and step count) read back from the device close to the CPU's.
#[test]
fn recipes_track_the_cpu_engine_for_five_rounds() {
    let Some(ctx) = context() else { return };
    let data = synthetic(11);
    for plan in round_plans(&ctx) {
        for (arch, recipe) in gpu_recipes() {
            let what = format!(
                "{} {} {} ({})",
                arch.loss.name(),
                recipe.optimizer.describe(),
                recipe.lr.schedule.describe(),
                plan.describe()
            );
            let net = recipe_net(arch);
            let mut gpu = GpuEngine::with_recipe(
                Arc::clone(&ctx),
                plan,
                net.clone(),
                &data,
                recipe.clone(),
                None,
            )
            .expect("gpu engine");
            let mut cpu_engine =
                CpuEngine::with_recipe(net, &data, recipe.clone(), None).expect("cpu engine");
            for round in 1..=5 {
                let order = round_order(42, round, data.train.len());
                let before = gpu.readback_stats();
                let g = gpu.train_round(Some(&order)).expect("gpu round");
                // The moments stay on the device: a round reads back its 5 batch costs only.
                let after = gpu.readback_stats();
                assert_eq!(
                    (after.calls - before.calls, after.bytes - before.bytes),
                    (1, 5 * 4),
                    "{what}: round {round} readbacks"
                );
                let c = cpu_engine.train_round(Some(&order)).expect("cpu round");
                // f32 sums in other orders and another exp/log: ~1e-6 per round, compounded
                // over 25 steps; 1e-4 relative is the promise of the command line.
                assert!(
                    relative(g, c) <= 1e-4,
                    "{what}: round {round} cost gpu {g} vs cpu {c}"
                );
            }
            assert_eq!(
                gpu.predictions(Split::Test).expect("gpu"),
                cpu_engine.predictions(Split::Test).expect("cpu"),
                "{what}: predictions"
            );
            let gpu_net = gpu.network().expect("network");
            assert_eq!(gpu_net.loss, arch.loss, "{what}: loss");
            let diff = max_parameter_difference(&gpu_net, &cpu_engine.network().expect("net"));
            assert!(diff <= 1e-3, "{what}: parameters differ by {diff}");
            let (gs, cs) = (
                gpu.optimizer_state().expect("gpu state"),
                cpu_engine.optimizer_state().expect("cpu state"),
            );
            assert_eq!(gs.steps, cs.steps, "{what}: steps");
            assert_eq!(
                (gs.first.len(), gs.second.len()),
                (cs.first.len(), cs.second.len()),
                "{what}: moment tensors"
            );
            for (g, c) in gs
                .first
                .iter()
                .chain(&gs.second)
                .zip(cs.first.iter().chain(&cs.second))
            {
                // Moments are running means of gradients (≤ 1e-1 here); 1e-4 absolute.
                let worst = g
                    .iter()
                    .zip(c)
                    .map(|(a, b)| {
                        if (a - b).is_nan() {
                            f32::INFINITY
                        } else {
                            (a - b).abs()
                        }
                    })
                    .fold(0.0f32, f32::max);
                assert!(worst <= 1e-4, "{what}: moments differ by {worst}");
            }
        }
    }
}

/// A GPU run saved after 2 rounds (network and optimiser state) and resumed on a new engine
/// runs round 3 exactly like the uninterrupted run.
#[test]
fn a_resumed_gpu_run_continues_like_an_uninterrupted_one() {
    let Some(ctx) = context() else { return };
    let data = synthetic(12);
    let (arch, recipe) = gpu_recipes().remove(1);
    let plan = KernelPlan::default_for(&ctx.info, &ctx.limits);
    let net = recipe_net(arch);
    let engine = |net: Network, recipe: Recipe, state| {
        GpuEngine::with_recipe(Arc::clone(&ctx), plan, net, &data, recipe, state)
            .expect("gpu engine")
    };
    let mut whole = engine(net.clone(), recipe.clone(), None);
    let mut first = engine(net, recipe.clone(), None);
    for round in 1..=2 {
        let order = round_order(42, round, data.train.len());
        whole.train_round(Some(&order)).expect("round");
        first.train_round(Some(&order)).expect("round");
    }
    let state = first.optimizer_state().expect("state");
    assert_eq!(state.steps, 10, "5 batches per round");
    let resumed_recipe = Recipe {
        first_round: 3,
        ..recipe
    };
    let mut resumed = engine(first.network().expect("net"), resumed_recipe, Some(state));
    let order = round_order(42, 3, data.train.len());
    let a = whole.train_round(Some(&order)).expect("round");
    let b = resumed.train_round(Some(&order)).expect("round");
    // The same kernels on the same device in the same order: identical, not merely close.
    assert_eq!(a, b, "round 3 cost");
    assert_eq!(
        whole.network().expect("net"),
        resumed.network().expect("net")
    );
    assert_eq!(
        whole.optimizer_state().expect("state"),
        resumed.optimizer_state().expect("state")
    );
}

/// The real digits (MNIST_GPU_DATA): the tutorial, fast and best presets' recipes
/// (src/cli/preset.rs) for 5 rounds on the first 6000 training images (best: 2000): every
/// round's cost within 1e-4 of the CPU engine's; the fast recipe's test accuracy over a floor.
#[test]
fn presets_on_real_digits_track_the_cpu_engine() {
    let Ok(dir) = std::env::var("MNIST_GPU_DATA") else {
        println!("SKIPPED presets_on_real_digits_track_the_cpu_engine: set MNIST_GPU_DATA");
        return;
    };
    let Some(ctx) = context() else { return };
    let full = Mnist::load(std::path::Path::new(&dir)).expect("MNIST_GPU_DATA holds MNIST");
    let data = Mnist::new(
        full.train.truncated(6000),
        full.test.clone(),
        "slice".into(),
    );
    let plan = KernelPlan::default_for(&ctx.info, &ctx.limits);
    let s = OptimizerSettings::default();
    let tutorial = (
        Network::new(&[128], 42).expect("net"),
        Recipe::sgd(Hyper {
            batch_size: 1000,
            learning_rate: 2.0,
        }),
        false,
    );
    let fast_arch = Architecture {
        activation: Activation::Relu,
        loss: Loss::Xent,
    };
    let mut fast_recipe = recipe(
        Optimizer::from_name("adam", s).expect("adam"),
        LrSchedule::Cosine,
        2e-3,
        0.0,
    );
    fast_recipe.hyper.batch_size = 128;
    let fast = (
        Network::build(&[784, 400, 10], fast_arch, Init::He, 42).expect("net"),
        fast_recipe,
        true,
    );
    let mut best_recipe = recipe(
        Optimizer::from_name("adam", s).expect("adam"),
        LrSchedule::Cosine,
        1e-3,
        0.0,
    );
    best_recipe.hyper.batch_size = 128;
    best_recipe.lr.rounds = 30;
    best_recipe.dropout = Dropout::new(0.5).expect("rate");
    let best = (
        Network::build(&[784, 800, 10], fast_arch, Init::He, 42).expect("net"),
        best_recipe,
        true,
    );
    // The widest preset on fewer images, to stay cheap on every device shape.
    let small = Mnist::new(
        full.train.truncated(2000),
        full.test.clone(),
        "slice".into(),
    );
    for (name, (net, recipe, shuffle), data) in [
        ("tutorial", tutorial, &data),
        ("fast", fast, &data),
        ("best", best, &small),
    ] {
        let mut gpu = GpuEngine::with_recipe(
            Arc::clone(&ctx),
            plan,
            net.clone(),
            data,
            recipe.clone(),
            None,
        )
        .expect("gpu engine");
        let mut cpu_engine = CpuEngine::with_recipe(net, data, recipe, None).expect("cpu");
        for round in 1..=5 {
            let order = shuffle.then(|| round_order(42, round, data.train.len()));
            let g = gpu.train_round(order.as_deref()).expect("gpu round");
            let c = cpu_engine.train_round(order.as_deref()).expect("cpu round");
            println!("{name} round {round}: gpu {g:.7} cpu {c:.7}");
            assert!(
                relative(g, c) <= 1e-4,
                "{name}: round {round} cost gpu {g} vs cpu {c}"
            );
        }
        let correct = gpu.correct(Split::Test).expect("correct");
        let accuracy = correct as f64 / data.test.len() as f64;
        println!("{name}: test accuracy {:.2}%", 100.0 * accuracy);
        if name == "fast" {
            // 5 rounds of Adam on 6000 digits reach 93.4% on lavapipe; a broken kernel stays
            // near chance (10%).
            assert!(accuracy >= 0.90, "{name}: test accuracy {accuracy}");
        }
    }
}

/// `dropout_forward` and `dropout_backward` against their twins (the masks of `Dropout`) at
/// element counts that are not multiples of the workgroup, a seed above 32 bits and a later
/// round, batch and layer; outputs poisoned (forward) or random (backward, in place).
#[test]
fn dropout_kernels_match_twins() {
    let Some(ctx) = context() else { return };
    for (seed, &(rows, outputs, inputs)) in SHAPES.iter().enumerate() {
        let mut rng = ChaCha8Rng::seed_from_u64(90 + seed as u64);
        let batch = BatchParams::new(3, 0, rows).in_round(2 + seed, 42 | (7 << 40));
        let rate = [0.5, 0.3, 0.1, 0.7][seed];
        let layer = LayerParams::new(inputs, outputs, 0.5)
            .with_dropout(1 + seed, Dropout::new(rate).expect("rate"));
        let n = rows * outputs;
        let activations = uniform(&mut rng, n, 0.01, 1.0);
        let mut dropped = vec![0.0; n];
        cpu::dropout_forward::dropout_forward(&batch, &layer, &activations, &mut dropped);
        let gpu_dropped = poisoned(&ctx, n);
        let gpu_activations = ctx.buffer_with("activations", f32_bytes(&activations));
        ctx.run_once(
            Kernel::DropoutForward,
            batch,
            layer,
            &[&gpu_activations, &gpu_dropped],
        )
        .expect("dispatch");
        // A product by 0 or 1/(1 − rate): exact on both sides.
        assert_close("dropout_forward", &read_f32(&ctx, &gpu_dropped), &dropped);
        let kept = dropped.iter().filter(|&&d| d > 0.0).count();
        assert!(
            kept > 0 && kept < n,
            "some kept, some dropped: {kept} of {n}"
        );

        let mut deltas = uniform(&mut rng, n, -0.5, 0.5);
        let gpu_deltas = ctx.buffer_with("deltas", f32_bytes(&deltas));
        cpu::dropout_backward::dropout_backward(&batch, &layer, &mut deltas);
        ctx.run_once(Kernel::DropoutBackward, batch, layer, &[&gpu_deltas])
            .expect("dispatch");
        assert_close("dropout_backward", &read_f32(&ctx, &gpu_deltas), &deltas);
    }
}
