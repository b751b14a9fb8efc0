//! Every kernel against its CPU twin, written once for any device that can run a kernel.
//!
//! A [`KernelDevice`] runs one dispatch of a composed kernel on buffers held on the host: the
//! native GPU context (lavapipe, llvmpipe through GL, a hardware GPU; `tests/gpu.rs`) and
//! Chromium's WebGPU (Dawn and its compiler Tint; `tests/dawn.rs`) both run every check below.
//! Inputs are fresh random non-zero values at shapes that are not tile multiples; outputs start
//! poisoned with NaN (or random, for buffers a kernel updates in place), and NaN never passes.
//!
//! [`twin_checks!`] lists the checks once, so both test files run exactly the same set.

use mnist_gpu::engine::gpu::GpuContext;
use mnist_gpu::engine::gpu::kernels::{Access, Kernel, Variant};
use mnist_gpu::engine::gpu::plan::Product;
use mnist_gpu::kernel_params::{BatchParams, LayerParams, pack_images};
use mnist_gpu::ops::activation::Saved;
use mnist_gpu::ops::{Activation, Dropout};
use mnist_gpu::optim::{Optimizer, OptimizerSettings};
use mnist_gpu::twin;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Calls `$then!` with the name of every check in this module (each a
/// `fn(&dyn KernelDevice)`), so each device's test file enumerates the same list.
macro_rules! twin_checks {
    ($then:ident) => {
        $then!(
            forward_input_matches_twin,
            forward_input_tiled_matches_twin_for_every_tile,
            forward_hidden_matches_twin,
            forward_hidden_tiled_matches_twin_for_every_tile,
            every_activation_in_forward_hidden_and_backprop_error_matches_its_twin,
            output_error_and_batch_cost_match_twins,
            backprop_error_matches_twin,
            backprop_error_tiled_matches_twin_for_every_tile,
            weight_gradients_and_updates_match_twins,
            weight_gradient_hidden_tiled_matches_twin_for_every_tile,
            weight_gradient_input_tiled_matches_twin_for_every_tile,
            weight_update_vec4_matches_twin,
            bias_update_vec4_matches_twin,
            evaluate_matches_twin,
            softmax_and_cross_entropy_kernels_match_twins,
            optimizer_step_kernels_match_twins,
            dropout_kernels_match_twins
        );
    };
}
pub(crate) use twin_checks;

/// A device that runs one dispatch of a composed kernel on buffers held on the host.
pub trait KernelDevice {
    /// The limits a tile must fit to run here.
    fn limits(&self) -> wgpu::Limits;

    /// One dispatch of `variant` on `storage`, its storage buffers in binding order. Every
    /// buffer the kernel table marks read-write is replaced by its contents after the run.
    fn run(
        &self,
        variant: Variant,
        batch: BatchParams,
        layer: LayerParams,
        storage: &mut [Vec<u8>],
    );
}

impl KernelDevice for GpuContext {
    fn limits(&self) -> wgpu::Limits {
        self.limits.clone()
    }

    fn run(
        &self,
        variant: Variant,
        batch: BatchParams,
        layer: LayerParams,
        storage: &mut [Vec<u8>],
    ) {
        let buffers: Vec<wgpu::Buffer> = storage
            .iter()
            .map(|bytes| self.buffer_with("storage", bytes))
            .collect();
        // The twin checks hand buffers over in binding order: each takes its binding's name.
        let names = variant
            .kernel
            .spec()
            .interface
            .storage
            .iter()
            .map(|&(n, _)| n);
        let bound: Vec<(&str, &wgpu::Buffer)> = names.zip(&buffers).collect();
        self.run_once(variant, batch, layer, &bound)
            .unwrap_or_else(|e| panic!("{}: {e}", variant.describe()));
        for ((bytes, buffer), access) in storage
            .iter_mut()
            .zip(&buffers)
            .zip(variant.kernel.storage())
        {
            if access == Access::ReadWrite {
                let read = self.read(buffer).expect("readback");
                let len = bytes.len();
                bytes.copy_from_slice(&read[..len]);
            }
        }
    }
}

pub fn bytes<T: bytemuck::Pod>(values: &[T]) -> Vec<u8> {
    bytemuck::cast_slice(values).to_vec()
}

pub fn f32s(bytes: &[u8]) -> Vec<f32> {
    bytemuck::pod_collect_to_vec(bytes)
}

pub fn u32s(bytes: &[u8]) -> Vec<u32> {
    bytemuck::pod_collect_to_vec(bytes)
}

/// `n` NaNs: an output starts poisoned, so anything a kernel fails to write fails.
pub fn poisoned(n: usize) -> Vec<u8> {
    bytes(&vec![f32::NAN; n])
}

/// Random values in `[low, high)`, never zero: a zero would hide a term a kernel forgets.
pub fn uniform(rng: &mut ChaCha8Rng, n: usize, low: f32, high: f32) -> Vec<f32> {
    (0..n)
        .map(|_| {
            let x: f32 = rng.random_range(low..high);
            if x == 0.0 { 1e-3 } else { x }
        })
        .collect()
}

/// Random non-zero pixels, packed four to a word as the kernels read them.
fn packed_images(rng: &mut ChaCha8Rng, images: usize, inputs: usize) -> Vec<u32> {
    let pixels: Vec<u8> = (0..images * inputs)
        .map(|_| rng.random_range(1..=255))
        .collect();
    pack_images(&pixels, inputs)
}

/// A shuffled order over `images` images, used by the kernels that gather through it.
fn shuffled(rng: &mut ChaCha8Rng, images: usize) -> Vec<u32> {
    let mut order: Vec<u32> = (0..images as u32).collect();
    for i in (1..images).rev() {
        order.swap(i, rng.random_range(0..=i));
    }
    order
}

/// Tolerance of a kernel output against its twin: both are f32 with sums in different
/// orders. A reordered sum of K ≤ 1100 terms of size ≤ 1 drifts by about √K·ε·|partial sums|
/// (≈ 33 · 1.2e-7 · 30 ≈ 1e-4 at worst here), exp differs by a few ulp; 2e-4·(1 + |expected|)
/// leaves a margin while a wrong index or a missed term gives errors of order 0.01–1.
pub fn assert_close(what: &str, got: &[f32], expected: &[f32]) {
    assert_within(what, got, expected, 2e-4);
}

/// `|got − expected| ≤ relative·(1 + |expected|)` everywhere; NaN never passes.
pub fn assert_within(what: &str, got: &[f32], expected: &[f32], relative: f32) {
    assert_eq!(got.len(), expected.len(), "{what}: lengths differ");
    for (i, (&g, &e)) in got.iter().zip(expected).enumerate() {
        let tol = relative * (1.0 + e.abs());
        assert!(
            (g - e).abs() <= tol,
            "{what}[{i}]: device {g} vs cpu {e} (tolerance {tol})"
        );
    }
}

/// Shapes (rows, outputs, inputs): tiny, not multiples of the 32-wide tiles, exact tiles, and
/// a tall batch whose gradient reduction runs over several splits.
type Shape = (usize, usize, usize);
const SHAPES: [Shape; 4] = [(5, 3, 8), (37, 13, 29), (64, 32, 32), (1100, 10, 17)];

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

fn batch_of(rows: usize) -> BatchParams {
    BatchParams::new(3, 0, rows)
}

fn describe(variant: Variant, (rows, outputs, inputs): Shape) -> String {
    format!("{} {rows}x{outputs}x{inputs}", variant.describe())
}

/// Every tiled form the tuner may choose for `product` on this device (the candidates that
/// fit its limits).
fn tiled_candidates(device: &dyn KernelDevice, product: Product) -> Vec<Variant> {
    let tiled: Vec<Variant> = product
        .candidates(&device.limits())
        .into_iter()
        .filter(|v| v.tile.is_some())
        .collect();
    assert!(!tiled.is_empty(), "no tile fits this device");
    tiled
}

/// The twin signature shared by `forward_input` and `forward_input_tiled`.
type ForwardInputTwin = fn(&BatchParams, &LayerParams, &[u32], &[u32], &[f32], &mut [f32]);

/// Runs `variant` on random packed images gathered through a shuffled order at each shape and
/// compares it with `twin`.
fn check_forward_input(
    device: &dyn KernelDevice,
    variant: Variant,
    twin: ForwardInputTwin,
    shapes: &[Shape],
) {
    for (seed, &(rows, outputs, inputs)) in shapes.iter().enumerate() {
        let mut rng = ChaCha8Rng::seed_from_u64(seed as u64);
        let images_n = rows + 7;
        let packed = packed_images(&mut rng, images_n, inputs);
        let order = shuffled(&mut rng, images_n);
        // The layer's parameters: weights, then biases.
        let parameters = uniform(&mut rng, outputs * inputs + outputs, -0.5, 0.5);
        // Start at position 2 of the order: the kernel must offset by batch.first.
        let batch = BatchParams::new(0, 2, rows);
        let layer = LayerParams::new(inputs, outputs, 0.5);
        let mut expected = vec![0.0; rows * outputs];
        twin(&batch, &layer, &packed, &order, &parameters, &mut expected);
        let mut storage = [
            bytes(&packed),
            bytes(&order),
            bytes(&parameters),
            poisoned(rows * outputs),
        ];
        device.run(variant, batch, layer, &mut storage);
        let what = describe(variant, (rows, outputs, inputs));
        assert_close(&what, &f32s(&storage[3]), &expected);
    }
}

pub fn forward_input_matches_twin(device: &dyn KernelDevice) {
    check_forward_input(
        device,
        Kernel::ForwardInput.into(),
        twin::forward_input::forward_input,
        &SHAPES,
    );
}

pub fn forward_input_tiled_matches_twin_for_every_tile(device: &dyn KernelDevice) {
    let shapes: Vec<Shape> = TILED_SHAPES
        .iter()
        .copied()
        .chain([(70, 13, 784)])
        .collect();
    for variant in tiled_candidates(device, Product::ForwardInput) {
        check_forward_input(
            device,
            variant,
            twin::forward_input_tiled::forward_input_tiled,
            &shapes,
        );
    }
}

/// A twin called on the operands in binding order.
type OperandsTwin<'a> = dyn Fn(&BatchParams, &LayerParams, &[Vec<f32>], &mut [f32]) + 'a;

/// A kernel reading f32 buffers against its twin for one shape: each operand (length, value
/// range) drawn at random in order, the output (`out_len` values) poisoned before the run.
fn check_f32_inputs(
    device: &dyn KernelDevice,
    variant: Variant,
    twin: &OperandsTwin<'_>,
    (rows, outputs, inputs): Shape,
    seed: u64,
    operands: &[(usize, f32, f32)],
    out_len: usize,
) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let values: Vec<Vec<f32>> = operands
        .iter()
        .map(|&(len, low, high)| uniform(&mut rng, len, low, high))
        .collect();
    let (batch, layer) = (batch_of(rows), LayerParams::new(inputs, outputs, 0.5));
    let mut expected = vec![0.0; out_len];
    twin(&batch, &layer, &values, &mut expected);
    let mut storage: Vec<Vec<u8>> = values.iter().map(|v| bytes(v)).collect();
    storage.push(poisoned(out_len));
    device.run(variant, batch, layer, &mut storage);
    let what = describe(variant, (rows, outputs, inputs));
    assert_close(&what, &f32s(&storage[operands.len()]), &expected);
}

/// The twin signatures of `forward_hidden` (inputs, parameters) and `backprop_error` (deltas,
/// weights, activations), and of their tiled forms.
type ForwardHiddenTwin = fn(&BatchParams, &LayerParams, &[f32], &[f32], &mut [f32]);
type BackpropErrorTwin = fn(&BatchParams, &LayerParams, &[f32], &[f32], &[f32], &mut [f32]);

fn check_forward_hidden(
    device: &dyn KernelDevice,
    variant: Variant,
    twin: ForwardHiddenTwin,
    shapes: &[Shape],
) {
    for (seed, &(rows, outputs, inputs)) in shapes.iter().enumerate() {
        let operands = [
            (rows * inputs, 0.01, 1.0),
            (outputs * inputs + outputs, -0.5, 0.5),
        ];
        check_f32_inputs(
            device,
            variant,
            &|b, l, v, out| twin(b, l, &v[0], &v[1], out),
            (rows, outputs, inputs),
            10 + seed as u64,
            &operands,
            rows * outputs,
        );
    }
}

pub fn forward_hidden_matches_twin(device: &dyn KernelDevice) {
    check_forward_hidden(
        device,
        Kernel::ForwardHidden.into(),
        twin::forward_hidden::forward_hidden,
        &SHAPES,
    );
}

pub fn forward_hidden_tiled_matches_twin_for_every_tile(device: &dyn KernelDevice) {
    for variant in tiled_candidates(device, Product::ForwardHidden) {
        check_forward_hidden(
            device,
            variant,
            twin::forward_hidden_tiled::forward_hidden_tiled,
            &TILED_SHAPES,
        );
    }
}

fn check_backprop_error(
    device: &dyn KernelDevice,
    variant: Variant,
    twin: BackpropErrorTwin,
    shapes: &[Shape],
) {
    for (seed, &(rows, outputs, inputs)) in shapes.iter().enumerate() {
        let operands = [
            (rows * outputs, -0.3, 0.3),
            (outputs * inputs, -0.5, 0.5),
            (rows * inputs, 0.01, 0.99),
        ];
        check_f32_inputs(
            device,
            variant,
            &|b, l, v, out| twin(b, l, &v[0], &v[1], &v[2], out),
            (rows, outputs, inputs),
            30 + seed as u64,
            &operands,
            rows * inputs,
        );
    }
}

pub fn backprop_error_matches_twin(device: &dyn KernelDevice) {
    check_backprop_error(
        device,
        Kernel::BackpropError.into(),
        twin::backprop_error::backprop_error,
        &SHAPES,
    );
}

pub fn backprop_error_tiled_matches_twin_for_every_tile(device: &dyn KernelDevice) {
    for variant in tiled_candidates(device, Product::BackpropError) {
        check_backprop_error(
            device,
            variant,
            twin::backprop_error_tiled::backprop_error_tiled,
            &TILED_SHAPES,
        );
    }
}

/// Every activation definition (the generated WGSL library `activation`) in the kernels that
/// apply it and take its derivative: `forward_hidden` (f, and z kept past the outputs when the
/// derivative needs it) and `backprop_error` (f' from what was kept), register-block and tiled,
/// each compiled with every `ACTIVATION` value. Both sides are f32 sums of ≤ 29 products of
/// size ≤ 1 in different orders (a few ulp of the partial sums, ≈ 1e-6) and libm's exp/tanh
/// against the device's (a few ulp); 2e-5·(1 + |e|) covers that while a wrong activation (relu
/// for tanh, a missing derivative, z not kept) is off by > 1e-2.
pub fn every_activation_in_forward_hidden_and_backprop_error_matches_its_twin(
    device: &dyn KernelDevice,
) {
    const ACTIVATION_SHAPES: [Shape; 3] = [(5, 3, 8), (37, 13, 29), (70, 21, 17)];
    let forms = |product: Product| {
        let (direct, tiled) = product.kernels();
        [
            Variant::from(direct),
            Variant::tiled(tiled, product.default_tile()),
        ]
    };
    for activation in Activation::ALL {
        let kept = activation.kept_per_output();
        for (seed, &(rows, outputs, inputs)) in ACTIVATION_SHAPES.iter().enumerate() {
            let mut rng = ChaCha8Rng::seed_from_u64(seed as u64 + 100 * activation.id() as u64);
            let batch = BatchParams::new(3, 0, rows);
            let layer = LayerParams::new(inputs, outputs, 0.5).with_saved_rows(rows);

            // forward_hidden: f(inputs·Wᵀ + b), pre-activations on both sides of 0.
            let x = uniform(&mut rng, rows * inputs, 0.01, 1.0);
            let parameters = uniform(&mut rng, outputs * inputs + outputs, -0.5, 0.5);
            let mut want = vec![0.0; kept * rows * outputs];
            twin::forward_hidden::forward_hidden_with(
                activation,
                &batch,
                &layer,
                &x,
                &parameters,
                &mut want,
            );
            assert!(
                want.iter().any(|&a| a < 0.0) || activation.f64(-1.0) >= 0.0,
                "{activation:?}: no negative pre-activation reached"
            );
            for form in forms(Product::ForwardHidden) {
                let variant = Variant { activation, ..form };
                let mut storage = [bytes(&x), bytes(&parameters), poisoned(want.len())];
                device.run(variant, batch, layer, &mut storage);
                let what = format!("{} {rows}x{outputs}x{inputs}", variant.describe());
                assert_within(&what, &f32s(&storage[2]), &want, 2e-5);
            }

            // backprop_error: (δ·W) ⊙ f'(s), with the kept values s in f's range (outputs) or
            // z across the curved part of GELU and SiLU.
            let deltas = uniform(&mut rng, rows * outputs, -0.3, 0.3);
            let weights = uniform(&mut rng, outputs * inputs, -0.5, 0.5);
            let (low, high) = match (activation.saves(), activation) {
                (Saved::Input, _) => (-3.0, 3.0),
                (_, Activation::Sigmoid) => (0.01, 0.99),
                (_, Activation::Tanh) => (-0.99, 0.99),
                _ => (-0.5, 1.0),
            };
            let kept_values: Vec<f32> = uniform(&mut rng, kept * rows * inputs, low, high)
                .iter()
                .map(|&s| {
                    if activation == Activation::Relu {
                        s.max(0.0)
                    } else {
                        s
                    }
                })
                .collect();
            let mut want = vec![0.0; rows * inputs];
            twin::backprop_error::backprop_error_with(
                activation,
                &batch,
                &layer,
                &deltas,
                &weights,
                &kept_values,
                &mut want,
            );
            for form in forms(Product::BackpropError) {
                let variant = Variant { activation, ..form };
                let mut storage = [
                    bytes(&deltas),
                    bytes(&weights),
                    bytes(&kept_values),
                    poisoned(rows * inputs),
                ];
                device.run(variant, batch, layer, &mut storage);
                let what = format!("{} {rows}x{outputs}x{inputs}", variant.describe());
                assert_within(&what, &f32s(&storage[3]), &want, 2e-5);
            }
        }
    }
}

pub fn output_error_and_batch_cost_match_twins(device: &dyn KernelDevice) {
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
        twin::output_error::output_error(
            Activation::Sigmoid,
            &batch,
            &layer,
            &activations,
            &labels,
            &order,
            &mut deltas,
        );
        let mut costs = vec![0.0f32; 4];
        twin::batch_cost::batch_cost(&batch, &layer, &activations, &labels, &order, &mut costs);

        let inputs = [bytes(&activations), bytes(&labels), bytes(&order)];
        let mut storage = [inputs.to_vec(), vec![poisoned(rows * outputs)]].concat();
        device.run(Kernel::OutputError.into(), batch, layer, &mut storage);
        assert_close("output_error deltas", &f32s(&storage[3]), &deltas);
        let mut storage = [inputs.to_vec(), vec![poisoned(4)]].concat();
        device.run(Kernel::BatchCost.into(), batch, layer, &mut storage);
        assert_close("batch_cost", &f32s(&storage[3])[2..3], &costs[2..3]);
    }
}

pub fn weight_gradients_and_updates_match_twins(device: &dyn KernelDevice) {
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
        let packed = packed_images(&mut rng, images_n, inputs);
        let order = shuffled(&mut rng, images_n);
        let weights = uniform(&mut rng, outputs * inputs, -0.5, 0.5);
        // bias_update's buffer is a layer's parameters: weights, then the biases it updates.
        let biases = uniform(&mut rng, outputs * inputs + outputs, -0.5, 0.5);
        let partial_len = batch.splits as usize * outputs * inputs;

        let mut hidden_partials = vec![0.0; partial_len];
        twin::weight_gradient_hidden::weight_gradient_hidden(
            &batch,
            &layer,
            &deltas,
            &activations,
            &mut hidden_partials,
        );
        let mut input_partials = vec![0.0; partial_len];
        twin::weight_gradient_input::weight_gradient_input(
            &batch,
            &layer,
            &deltas,
            &packed,
            &order,
            &mut input_partials,
        );
        let mut updated = weights.clone();
        twin::weight_update::weight_update(&batch, &layer, &hidden_partials, &mut updated);
        let mut new_biases = biases.clone();
        twin::bias_update::bias_update(&batch, &layer, &deltas, &mut new_biases);

        let mut hidden = [bytes(&deltas), bytes(&activations), poisoned(partial_len)];
        device.run(
            Kernel::WeightGradientHidden.into(),
            batch,
            layer,
            &mut hidden,
        );
        assert_close(
            "weight_gradient_hidden",
            &f32s(&hidden[2]),
            &hidden_partials,
        );
        let mut input = [
            bytes(&deltas),
            bytes(&packed),
            bytes(&order),
            poisoned(partial_len),
        ];
        device.run(Kernel::WeightGradientInput.into(), batch, layer, &mut input);
        assert_close("weight_gradient_input", &f32s(&input[3]), &input_partials);

        // The update reads the partials the device itself summed.
        let mut update = [hidden[2].clone(), bytes(&weights)];
        device.run(Kernel::WeightUpdate.into(), batch, layer, &mut update);
        assert_close("weight_update", &f32s(&update[1]), &updated);
        let mut bias = [bytes(&deltas), bytes(&biases)];
        device.run(Kernel::BiasUpdate.into(), batch, layer, &mut bias);
        assert_close("bias_update", &f32s(&bias[1]), &new_biases);
    }
}

pub fn weight_gradient_hidden_tiled_matches_twin_for_every_tile(device: &dyn KernelDevice) {
    for variant in tiled_candidates(device, Product::WeightGradientHidden) {
        for (seed, &(rows, outputs, inputs)) in TILED_SHAPES.iter().enumerate() {
            let mut rng = ChaCha8Rng::seed_from_u64(70 + seed as u64);
            let batch = BatchParams::new(0, 3, rows);
            let layer = LayerParams::new(inputs, outputs, 0.7);
            let deltas = uniform(&mut rng, rows * outputs, -0.3, 0.3);
            let activations = uniform(&mut rng, rows * inputs, 0.01, 0.99);
            let partial_len = batch.splits as usize * outputs * inputs;
            let mut expected = vec![0.0; partial_len];
            twin::weight_gradient_hidden_tiled::weight_gradient_hidden_tiled(
                &batch,
                &layer,
                &deltas,
                &activations,
                &mut expected,
            );
            let mut storage = [bytes(&deltas), bytes(&activations), poisoned(partial_len)];
            device.run(variant, batch, layer, &mut storage);
            let what = describe(variant, (rows, outputs, inputs));
            assert_close(&what, &f32s(&storage[2]), &expected);
        }
    }
}

pub fn weight_gradient_input_tiled_matches_twin_for_every_tile(device: &dyn KernelDevice) {
    for variant in tiled_candidates(device, Product::WeightGradientInput) {
        for (seed, &(rows, outputs, inputs)) in TILED_SHAPES.iter().enumerate() {
            let mut rng = ChaCha8Rng::seed_from_u64(60 + seed as u64);
            let batch = BatchParams::new(0, 3, rows);
            let layer = LayerParams::new(inputs, outputs, 0.7);
            let deltas = uniform(&mut rng, rows * outputs, -0.3, 0.3);
            let images_n = rows + 3;
            let packed = packed_images(&mut rng, images_n, inputs);
            let order = shuffled(&mut rng, images_n);
            let partial_len = batch.splits as usize * outputs * inputs;
            let mut expected = vec![0.0; partial_len];
            twin::weight_gradient_input_tiled::weight_gradient_input_tiled(
                &batch,
                &layer,
                &deltas,
                &packed,
                &order,
                &mut expected,
            );
            let mut storage = [
                bytes(&deltas),
                bytes(&packed),
                bytes(&order),
                poisoned(partial_len),
            ];
            device.run(variant, batch, layer, &mut storage);
            let what = describe(variant, (rows, outputs, inputs));
            assert_close(&what, &f32s(&storage[3]), &expected);
        }
    }
}

/// `weight_update_vec4` on layers with a multiple of 4 weights, over 1 to 3 splits: every
/// weight moves by lr·Σ partials (nonzero), so a skipped quad would be far outside tolerance.
pub fn weight_update_vec4_matches_twin(device: &dyn KernelDevice) {
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
        twin::weight_update_vec4::weight_update_vec4(&batch, &layer, &partials, &mut expected);
        let mut storage = [bytes(&partials), bytes(&weights)];
        device.run(Kernel::WeightUpdateVec4.into(), batch, layer, &mut storage);
        assert_close(
            &format!("weight_update_vec4 {rows}x{outputs}x{inputs}"),
            &f32s(&storage[1]),
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
pub fn bias_update_vec4_matches_twin(device: &dyn KernelDevice) {
    for (seed, &(rows, outputs)) in [(5, 4), (37, 12), (1100, 128)].iter().enumerate() {
        let mut rng = ChaCha8Rng::seed_from_u64(90 + seed as u64);
        let batch = BatchParams::new(0, 0, rows);
        let layer = LayerParams::new(9, outputs, 0.7);
        assert_eq!(Kernel::bias_update_for(&layer), Kernel::BiasUpdateVec4);
        let deltas = uniform(&mut rng, rows * outputs, -0.3, 0.3);
        // The layer's parameters: 9·outputs weights (untouched), then the biases.
        let biases = uniform(&mut rng, outputs * 9 + outputs, -0.5, 0.5);
        let mut expected = biases.clone();
        twin::bias_update_vec4::bias_update_vec4(&batch, &layer, &deltas, &mut expected);
        let mut storage = [bytes(&deltas), bytes(&biases)];
        device.run(Kernel::BiasUpdateVec4.into(), batch, layer, &mut storage);
        assert_close(
            &format!("bias_update_vec4 {rows}x{outputs}"),
            &f32s(&storage[1]),
            &expected,
        );
    }
    assert_eq!(
        Kernel::bias_update_for(&LayerParams::new(9, 10, 0.5)),
        Kernel::BiasUpdate
    );
}

pub fn evaluate_matches_twin(device: &dyn KernelDevice) {
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
        twin::evaluate::evaluate(
            &batch,
            &layer,
            &activations,
            &labels,
            &mut predictions,
            &mut correct,
        );
        let mut storage = [
            bytes(&activations),
            bytes(&labels),
            bytes(&vec![u32::MAX; images_n]),
            bytes(&[0u32]),
        ];
        device.run(Kernel::Evaluate.into(), batch, layer, &mut storage);
        assert_eq!(
            u32s(&storage[2]),
            predictions,
            "predictions {rows}x{outputs}"
        );
        assert_eq!(
            u32s(&storage[3]),
            vec![correct],
            "correct count {rows}x{outputs}"
        );
    }
}

/// `softmax` in place (its input is its output, so it cannot be poisoned: a row it skipped
/// keeps values that are not probabilities and fails), then `output_error` compiled linear and
/// `batch_cost_xent` on the twin's probabilities, outputs poisoned.
pub fn softmax_and_cross_entropy_kernels_match_twins(device: &dyn KernelDevice) {
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
        twin::softmax::softmax(&batch, &layer, &mut p);
        let mut storage = [bytes(&z)];
        device.run(Kernel::Softmax.into(), batch, layer, &mut storage);
        // exp of arguments ≤ 0 and one division: a few ulps of values ≤ 1.
        assert_close("softmax", &f32s(&storage[0]), &p);

        let mut deltas = vec![0.0; rows * outputs];
        twin::output_error::output_error(
            Activation::Linear,
            &batch,
            &layer,
            &p,
            &labels,
            &order,
            &mut deltas,
        );
        let mut costs = vec![0.0f32; 4];
        twin::batch_cost_xent::batch_cost_xent(&batch, &layer, &p, &labels, &order, &mut costs);
        let inputs = [bytes(&p), bytes(&labels), bytes(&order)];
        let mut storage = [inputs.to_vec(), vec![poisoned(rows * outputs)]].concat();
        let variant = Variant {
            activation: Activation::Linear,
            ..Kernel::OutputError.into()
        };
        device.run(variant, batch, layer, &mut storage);
        assert_close("output_error [linear]", &f32s(&storage[3]), &deltas);
        let mut storage = [inputs.to_vec(), vec![poisoned(4)]].concat();
        device.run(Kernel::BatchCostXent.into(), batch, layer, &mut storage);
        // An f32 log and an f32 sum of ≤ 1100 terms against an f64 sum: relative 2e-4 holds.
        assert_close("batch_cost_xent", &f32s(&storage[3])[2..3], &costs[2..3]);
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
pub fn optimizer_step_kernels_match_twins(device: &dyn KernelDevice) {
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
            twin::weight_step::weight_step(&batch, &layer, &partials, &mut want_p, &mut want_m);
            twin::bias_step::bias_step(&batch, &layer, &deltas, &mut want_p, &mut want_m);

            let mut weights = [bytes(&partials), bytes(&parameters), bytes(&moments)];
            device.run(Kernel::WeightStep.into(), batch, layer, &mut weights);
            let [_, stepped_p, stepped_m] = weights;
            let mut biases = [bytes(&deltas), stepped_p, stepped_m];
            device.run(Kernel::BiasStep.into(), batch, layer, &mut biases);
            // Sums of ≤ 1100 terms in another order, then Adam's m̂/(√v̂ + ε) with v̂ ≥ 1e-4:
            // a relative error of a few ulps in g moves p by ~1e-8 (the 2e-4 bound's margin).
            let what = format!("{} {rows}x{outputs}x{inputs}", optimizer.describe());
            assert_close(&format!("{what} parameters"), &f32s(&biases[1]), &want_p);
            assert_close(&format!("{what} moments"), &f32s(&biases[2]), &want_m);
            assert!(
                want_p.iter().zip(&parameters).any(|(a, b)| a != b),
                "{what}: the step must move the parameters"
            );
        }
    }
}

/// `dropout_forward` and `dropout_backward` against their twins (the masks of `Dropout`) at
/// element counts that are not multiples of the workgroup, a seed above 32 bits and a later
/// round, batch and layer; outputs poisoned (forward) or random (backward, in place).
pub fn dropout_kernels_match_twins(device: &dyn KernelDevice) {
    for (seed, &(rows, outputs, inputs)) in SHAPES.iter().enumerate() {
        let mut rng = ChaCha8Rng::seed_from_u64(90 + seed as u64);
        let batch = BatchParams::new(3, 0, rows).in_round(2 + seed, 42 | (7 << 40));
        let rate = [0.5, 0.3, 0.1, 0.7][seed];
        let layer = LayerParams::new(inputs, outputs, 0.5)
            .with_dropout(1 + seed, Dropout::new(rate).expect("rate"));
        let n = rows * outputs;
        let activations = uniform(&mut rng, n, 0.01, 1.0);
        let mut dropped = vec![0.0; n];
        twin::dropout_forward::dropout_forward(&batch, &layer, &activations, &mut dropped);
        let mut storage = [bytes(&activations), poisoned(n)];
        device.run(Kernel::DropoutForward.into(), batch, layer, &mut storage);
        // A product by 0 or 1/(1 − rate): exact on both sides.
        assert_close("dropout_forward", &f32s(&storage[1]), &dropped);
        let kept = dropped.iter().filter(|&&d| d > 0.0).count();
        assert!(
            kept > 0 && kept < n,
            "some kept, some dropped: {kept} of {n}"
        );

        let mut deltas = uniform(&mut rng, n, -0.5, 0.5);
        let mut storage = [bytes(&deltas)];
        twin::dropout_backward::dropout_backward(&batch, &layer, &mut deltas);
        device.run(Kernel::DropoutBackward.into(), batch, layer, &mut storage);
        assert_close("dropout_backward", &f32s(&storage[0]), &deltas);
    }
}
