//! Every kernel against its CPU twin, written once for any device that can run a kernel.
//!
//! A [`KernelDevice`] runs one dispatch of a composed kernel on buffers held on the host: the
//! native GPU context (lavapipe, llvmpipe through GL, a hardware GPU; `tests/gpu.rs`) and
//! Chromium's WebGPU (Dawn and its compiler Tint; `tests/dawn.rs`) both run every check below.
//! Inputs are fresh random non-zero values at shapes that are not tile multiples; outputs start
//! poisoned with NaN (or random, for buffers a kernel updates in place), and NaN never passes.
//!
//! Every twin has one calling convention ([`twin::Twin`]) and the kernel table holds it, so
//! [`check`] compares any kernel with its twin: the checks below only choose inputs.
//! [`twin_checks!`] lists the checks once, so both test files run exactly the same set.

use mnist_gpu::engine::gpu::GpuContext;
use mnist_gpu::engine::gpu::kernels::{Access, Kernel, Variant};
use mnist_gpu::engine::gpu::plan::Product;
use mnist_gpu::kernel_params::{BatchParams, LayerParams, pack_images};
use mnist_gpu::ops::activation::Saved;
use mnist_gpu::ops::augment::{Augment, InputNoise};
use mnist_gpu::ops::{Activation, Dropout};
use mnist_gpu::optim::{Optimizer, OptimizerSettings};
use mnist_gpu::twin::Dispatch;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Calls `$then!` with the name of every check in this module (each a
/// `fn(&dyn KernelDevice)`), so each device's test file enumerates the same list.
macro_rules! twin_checks {
    ($then:ident) => {
        $then!(
            forward_input_matches_twin,
            forward_hidden_matches_twin,
            backprop_error_matches_twin,
            weight_gradient_hidden_matches_twin,
            weight_gradient_input_matches_twin,
            every_activation_in_forward_hidden_and_backprop_error_matches_its_twin,
            output_error_and_batch_cost_match_twins,
            weight_and_bias_updates_match_twins,
            weight_update_vec4_matches_twin,
            bias_update_vec4_matches_twin,
            evaluate_matches_twin,
            softmax_and_cross_entropy_kernels_match_twins,
            optimizer_step_kernels_match_twins,
            max_norm_matches_twin,
            dropout_kernels_match_twins,
            gather_input_matches_twin
        );
    };
}
pub(crate) use twin_checks;

/// A device that runs one dispatch of a composed kernel on buffers held on the host.
pub trait KernelDevice {
    /// The limits a tile must fit to run here.
    fn limits(&self) -> wgpu::Limits;

    /// One dispatch of `variant` with the uniform `blocks` on `storage`, its storage buffers in
    /// binding order. Every buffer the kernel table marks read-write is replaced by its
    /// contents after the run.
    fn run(&self, variant: Variant, blocks: (BatchParams, LayerParams), storage: &mut [Vec<u8>]);
}

impl KernelDevice for GpuContext {
    fn limits(&self) -> wgpu::Limits {
        self.limits.clone()
    }

    fn run(&self, variant: Variant, blocks: (BatchParams, LayerParams), storage: &mut [Vec<u8>]) {
        let (batch, layer) = blocks;
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
pub const CLOSE: f32 = 2e-4;

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

/// Runs `variant` on `storage` (its buffers in binding order) on the device, and its twin from
/// the kernel table on a copy, then compares every buffer the kernel writes: u32 buffers
/// exactly, f32 ones within `relative`·(1 + |expected|). Returns the device's buffers.
pub fn check_within(
    device: &dyn KernelDevice,
    variant: Variant,
    (batch, layer): (BatchParams, LayerParams),
    storage: Vec<Vec<u8>>,
    relative: f32,
    what: &str,
) -> Vec<Vec<u8>> {
    let spec = variant.kernel.spec();
    let mut want = storage.clone();
    let dispatch = Dispatch {
        activation: variant.activation,
        batch,
        layer,
    };
    (spec.twin)(&dispatch, &mut want);
    let mut got = storage;
    device.run(variant, (batch, layer), &mut got);
    for (i, &(name, access)) in spec.interface.storage.iter().enumerate() {
        if access != Access::ReadWrite {
            continue;
        }
        let what = format!("{} {what}: {name}", variant.describe());
        if spec.interface.integers.contains(&name) {
            assert_eq!(u32s(&got[i]), u32s(&want[i]), "{what}");
        } else {
            assert_within(&what, &f32s(&got[i]), &f32s(&want[i]), relative);
        }
    }
    got
}

/// [`check_within`] the kernels' tolerance, [`CLOSE`].
pub fn check(
    device: &dyn KernelDevice,
    variant: impl Into<Variant>,
    blocks: (BatchParams, LayerParams),
    storage: Vec<Vec<u8>>,
    what: &str,
) -> Vec<Vec<u8>> {
    check_within(device, variant.into(), blocks, storage, CLOSE, what)
}

/// `(rows)x(outputs)x(inputs)`, for messages.
fn shape_name((rows, outputs, inputs): Shape) -> String {
    format!("{rows}x{outputs}x{inputs}")
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

/// The register-block form of `product` at `SHAPES`, then every tiled form at `TILED_SHAPES`
/// (and `extra`), each with the inputs `storage` draws for a shape.
/// A dispatch's uniform blocks and storage buffers, drawn for one shape.
type Inputs = ((BatchParams, LayerParams), Vec<Vec<u8>>);

fn check_product(
    device: &dyn KernelDevice,
    product: Product,
    extra: &[Shape],
    storage: &dyn Fn(&mut ChaCha8Rng, Shape) -> Inputs,
) {
    let (direct, _) = product.kernels();
    let tiled_shapes: Vec<Shape> = TILED_SHAPES.iter().chain(extra).copied().collect();
    let mut forms = vec![(Variant::from(direct), SHAPES.to_vec())];
    forms.extend(
        tiled_candidates(device, product)
            .into_iter()
            .map(|v| (v, tiled_shapes.clone())),
    );
    for (variant, shapes) in forms {
        for (seed, &shape) in shapes.iter().enumerate() {
            let mut rng = ChaCha8Rng::seed_from_u64(seed as u64 + 10 * product as u64);
            let (blocks, buffers) = storage(&mut rng, shape);
            check(device, variant, blocks, buffers, &shape_name(shape));
        }
    }
}

/// The first layer's forward product on random packed images gathered through a shuffled
/// order, starting at position 2 of the order (the kernel must offset by batch.first).
pub fn forward_input_matches_twin(device: &dyn KernelDevice) {
    check_product(
        device,
        Product::ForwardInput,
        &[(70, 13, 784)],
        &|rng, shape| {
            let (rows, outputs, inputs) = shape;
            let images_n = rows + 7;
            let packed = packed_images(rng, images_n, inputs);
            let order = shuffled(rng, images_n);
            let parameters = uniform(rng, outputs * inputs + outputs, -0.5, 0.5);
            // Some shapes read pixels scaled as input dropout's 1/(1 − rate) scales them.
            let mut batch = BatchParams::new(0, 2, rows);
            batch.input_scale = [1.0, 1.25, 2.0][rows % 3];
            let blocks = (batch, LayerParams::new(inputs, outputs, 0.5));
            let buffers = vec![
                bytes(&packed),
                bytes(&order),
                bytes(&parameters),
                poisoned(rows * outputs),
            ];
            (blocks, buffers)
        },
    );
}

/// The blocks of a batch of `rows` rows of a layer `inputs` → `outputs`.
fn blocks((rows, outputs, inputs): Shape) -> (BatchParams, LayerParams) {
    (
        BatchParams::new(3, 0, rows),
        LayerParams::new(inputs, outputs, 0.5),
    )
}

pub fn forward_hidden_matches_twin(device: &dyn KernelDevice) {
    check_product(device, Product::ForwardHidden, &[], &|rng, shape| {
        let (rows, outputs, inputs) = shape;
        let buffers = vec![
            bytes(&uniform(rng, rows * inputs, 0.01, 1.0)),
            bytes(&uniform(rng, outputs * inputs + outputs, -0.5, 0.5)),
            poisoned(rows * outputs),
        ];
        (blocks(shape), buffers)
    });
}

pub fn backprop_error_matches_twin(device: &dyn KernelDevice) {
    check_product(device, Product::BackpropError, &[], &|rng, shape| {
        let (rows, outputs, inputs) = shape;
        let buffers = vec![
            bytes(&uniform(rng, rows * outputs, -0.3, 0.3)),
            bytes(&uniform(rng, outputs * inputs, -0.5, 0.5)),
            bytes(&uniform(rng, rows * inputs, 0.01, 0.99)),
            poisoned(rows * inputs),
        ];
        (blocks(shape), buffers)
    });
}

/// The split-K weight gradients start at position 3 of the order; the tall shape runs over
/// several splits.
fn gradient_blocks((rows, outputs, inputs): Shape) -> (BatchParams, LayerParams) {
    let batch = BatchParams::new(0, 3, rows);
    assert!(
        rows < 1000 || batch.splits > 1,
        "the tall shape must use several splits"
    );
    (batch, LayerParams::new(inputs, outputs, 0.7))
}

pub fn weight_gradient_hidden_matches_twin(device: &dyn KernelDevice) {
    check_product(device, Product::WeightGradientHidden, &[], &|rng, shape| {
        let (rows, outputs, inputs) = shape;
        let blocks = gradient_blocks(shape);
        let buffers = vec![
            bytes(&uniform(rng, rows * outputs, -0.3, 0.3)),
            bytes(&uniform(rng, rows * inputs, 0.01, 0.99)),
            poisoned(blocks.0.splits as usize * outputs * inputs),
        ];
        (blocks, buffers)
    });
}

pub fn weight_gradient_input_matches_twin(device: &dyn KernelDevice) {
    check_product(device, Product::WeightGradientInput, &[], &|rng, shape| {
        let (rows, outputs, inputs) = shape;
        let blocks = gradient_blocks(shape);
        let images_n = rows + 3;
        let deltas = uniform(rng, rows * outputs, -0.3, 0.3);
        let packed = packed_images(rng, images_n, inputs);
        let buffers = vec![
            bytes(&deltas),
            bytes(&packed),
            bytes(&shuffled(rng, images_n)),
            poisoned(blocks.0.splits as usize * outputs * inputs),
        ];
        (blocks, buffers)
    });
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
        for (seed, &shape) in ACTIVATION_SHAPES.iter().enumerate() {
            let (rows, outputs, inputs) = shape;
            let mut rng = ChaCha8Rng::seed_from_u64(seed as u64 + 100 * activation.id() as u64);
            let batch = BatchParams::new(3, 0, rows);
            let layer = LayerParams::new(inputs, outputs, 0.5).with_saved_rows(rows);
            let what = format!("{} {}", activation.name(), shape_name(shape));

            // forward_hidden: f(inputs·Wᵀ + b), pre-activations on both sides of 0.
            let x = uniform(&mut rng, rows * inputs, 0.01, 1.0);
            let parameters = uniform(&mut rng, outputs * inputs + outputs, -0.5, 0.5);
            for form in forms(Product::ForwardHidden) {
                let variant = Variant { activation, ..form };
                let storage = vec![
                    bytes(&x),
                    bytes(&parameters),
                    poisoned(kept * rows * outputs),
                ];
                let got = check_within(device, variant, (batch, layer), storage, 2e-5, &what);
                assert!(
                    f32s(&got[2]).iter().any(|&a| a < 0.0) || activation.f64(-1.0) >= 0.0,
                    "{what}: no negative pre-activation reached"
                );
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
            for form in forms(Product::BackpropError) {
                let variant = Variant { activation, ..form };
                let storage = vec![
                    bytes(&deltas),
                    bytes(&weights),
                    bytes(&kept_values),
                    poisoned(rows * inputs),
                ];
                check_within(device, variant, (batch, layer), storage, 2e-5, &what);
            }
        }
    }
}

/// Random labels of `images` images of `classes` classes and a shuffled order over them.
fn labels_and_order(rng: &mut ChaCha8Rng, images: usize, classes: usize) -> (Vec<u8>, Vec<u8>) {
    let labels: Vec<u32> = (0..images)
        .map(|_| rng.random_range(0..classes as u32))
        .collect();
    (bytes(&labels), bytes(&shuffled(rng, images)))
}

/// The output layer's error and the batch's quadratic cost (into slot 2 of four: the other
/// slots start random and must stay as they are).
pub fn output_error_and_batch_cost_match_twins(device: &dyn KernelDevice) {
    for (seed, &shape) in SHAPES.iter().enumerate() {
        let (rows, outputs, _) = shape;
        let mut rng = ChaCha8Rng::seed_from_u64(20 + seed as u64);
        let activations = bytes(&uniform(&mut rng, rows * outputs, 0.01, 0.99));
        let (labels, order) = labels_and_order(&mut rng, rows + 5, outputs);
        let blocks = (
            BatchParams::new(2, 4, rows),
            LayerParams::new(7, outputs, 0.5),
        );
        let inputs = vec![activations, labels, order];
        let what = shape_name(shape);
        let storage = [inputs.clone(), vec![poisoned(rows * outputs)]].concat();
        check(device, Kernel::OutputError, blocks, storage, &what);
        let costs = bytes(&uniform(&mut rng, 4, 1.0, 2.0));
        let storage = [inputs, vec![costs]].concat();
        check(device, Kernel::BatchCost, blocks, storage, &what);
    }
}

/// The fused plain-SGD updates: `weight_update` on the partials the device itself summed, and
/// `bias_update` on a layer's parameters (weights, then the biases it updates). Every
/// parameter moves by lr·Σ (nonzero), so a skipped one is far outside tolerance.
pub fn weight_and_bias_updates_match_twins(device: &dyn KernelDevice) {
    for (seed, &shape) in SHAPES.iter().enumerate() {
        let (rows, outputs, inputs) = shape;
        let mut rng = ChaCha8Rng::seed_from_u64(40 + seed as u64);
        let blocks = gradient_blocks(shape);
        let deltas = bytes(&uniform(&mut rng, rows * outputs, -0.3, 0.3));
        let gradient = vec![
            deltas.clone(),
            bytes(&uniform(&mut rng, rows * inputs, 0.01, 0.99)),
            poisoned(blocks.0.splits as usize * outputs * inputs),
        ];
        let what = shape_name(shape);
        let gradient = check(
            device,
            Kernel::WeightGradientHidden,
            blocks,
            gradient,
            &what,
        );
        let weights = bytes(&uniform(&mut rng, outputs * inputs, -0.5, 0.5));
        let storage = vec![gradient[2].clone(), weights];
        check(device, Kernel::WeightUpdate, blocks, storage, &what);
        let parameters = bytes(&uniform(&mut rng, outputs * inputs + outputs, -0.5, 0.5));
        let storage = vec![deltas, parameters];
        check(device, Kernel::BiasUpdate, blocks, storage, &what);
    }
}

/// `weight_update_vec4` on layers with a multiple of 4 weights, over 1 to 3 splits: every
/// weight moves by lr·Σ partials (nonzero), so a skipped quad would be far outside tolerance.
pub fn weight_update_vec4_matches_twin(device: &dyn KernelDevice) {
    for (seed, &shape) in [(5, 3, 8), (600, 13, 28), (1100, 10, 128), (37, 7, 36)]
        .iter()
        .enumerate()
    {
        let (rows, outputs, inputs) = shape;
        let mut rng = ChaCha8Rng::seed_from_u64(80 + seed as u64);
        let blocks = (
            BatchParams::new(0, 0, rows),
            LayerParams::new(inputs, outputs, 0.7),
        );
        assert_eq!(
            Kernel::weight_update_for(&blocks.1),
            Kernel::WeightUpdateVec4
        );
        let splits = blocks.0.splits as usize;
        let storage = vec![
            bytes(&uniform(&mut rng, splits * outputs * inputs, -0.3, 0.3)),
            bytes(&uniform(&mut rng, outputs * inputs, -0.5, 0.5)),
        ];
        let variant = Kernel::WeightUpdateVec4;
        check(device, variant, blocks, storage, &shape_name(shape));
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
        let blocks = (
            BatchParams::new(0, 0, rows),
            LayerParams::new(9, outputs, 0.7),
        );
        assert_eq!(Kernel::bias_update_for(&blocks.1), Kernel::BiasUpdateVec4);
        // The layer's parameters: 9·outputs weights (untouched), then the biases.
        let storage = vec![
            bytes(&uniform(&mut rng, rows * outputs, -0.3, 0.3)),
            bytes(&uniform(&mut rng, outputs * 9 + outputs, -0.5, 0.5)),
        ];
        let what = format!("{rows}x{outputs}");
        check(device, Kernel::BiasUpdateVec4, blocks, storage, &what);
    }
    assert_eq!(
        Kernel::bias_update_for(&LayerParams::new(9, 10, 0.5)),
        Kernel::BiasUpdate
    );
}

/// Predictions (from position 6 on) and the count of correct ones; predictions start at
/// u32::MAX so an image the kernel skips differs from the twin's.
pub fn evaluate_matches_twin(device: &dyn KernelDevice) {
    for (seed, &shape) in SHAPES.iter().enumerate() {
        let (rows, outputs, _) = shape;
        let mut rng = ChaCha8Rng::seed_from_u64(50 + seed as u64);
        let images_n = rows + 6;
        let activations = uniform(&mut rng, rows * outputs, 0.0, 1.0);
        let (labels, _) = labels_and_order(&mut rng, images_n, outputs);
        let storage = vec![
            bytes(&activations),
            labels,
            bytes(&vec![u32::MAX; images_n]),
            bytes(&[0u32]),
        ];
        let blocks = (
            BatchParams::new(0, 6, rows),
            LayerParams::new(7, outputs, 0.5),
        );
        check_within(
            device,
            Kernel::Evaluate.into(),
            blocks,
            storage,
            0.0,
            &shape_name(shape),
        );
    }
}

/// `softmax` in place (its input is its output, so it cannot be poisoned: a row it skipped
/// keeps values that are not probabilities and fails), then `output_error` compiled linear and
/// `batch_cost_xent` on the device's probabilities, outputs poisoned or random.
pub fn softmax_and_cross_entropy_kernels_match_twins(device: &dyn KernelDevice) {
    for (seed, &shape) in SHAPES.iter().enumerate() {
        let (rows, outputs, _) = shape;
        let mut rng = ChaCha8Rng::seed_from_u64(60 + seed as u64);
        // Pre-activations wide enough that an unshifted exp would lose the small classes.
        let z = bytes(&uniform(&mut rng, rows * outputs, -30.0, 30.0));
        let (labels, order) = labels_and_order(&mut rng, rows + 5, outputs);
        let blocks = (
            BatchParams::new(2, 4, rows),
            LayerParams::new(7, outputs, 0.5),
        );
        let what = shape_name(shape);
        // exp of arguments ≤ 0 and one division: a few ulps of values ≤ 1.
        let p = check(device, Kernel::Softmax, blocks, vec![z], &what).swap_remove(0);
        let inputs = vec![p, labels, order];
        let linear = Variant {
            activation: Activation::Linear,
            ..Kernel::OutputError.into()
        };
        let storage = [inputs.clone(), vec![poisoned(rows * outputs)]].concat();
        check(device, linear, blocks, storage, &what);
        // An f32 log and an f32 sum of ≤ 1100 terms against an f64 sum: relative 2e-4 holds.
        let storage = [inputs, vec![bytes(&uniform(&mut rng, 4, 1.0, 2.0))]].concat();
        let got = check(device, Kernel::BatchCostXent, blocks, storage, &what);
        assert!(
            f32s(&got[3])[2] > 0.1,
            "the random labels must cost something"
        );
    }
}

fn optimizers() -> Vec<Optimizer> {
    let mut all = Vec::new();
    for name in Optimizer::NAMES {
        for nesterov in [false, true] {
            if nesterov && name != "momentum" {
                continue;
            }
            let settings = OptimizerSettings {
                nesterov,
                weight_decay: 0.1,
                ..Optimizer::defaults(name)
            };
            all.push(Optimizer::from_name(name, settings).expect("optimizer"));
        }
    }
    all
}

/// `parameter_step` for every optimiser at step 3 of a scheduled rate, on random
/// parameters, moments (second moments positive) and gradients. The parameters and moments
/// are both read and written, so they start as random values, not NaN: an element a kernel
/// skips keeps its old value, which differs from the twin's stepped one. Sums of ≤ 1100 terms
/// in another order, then Adam's m̂/(√v̂ + ε) with v̂ ≥ 1e-4: a relative error of a few ulps in
/// g moves p by ~1e-8 (the 2e-4 bound's margin); Lion's sign flips only where its interpolated
/// momentum is within rounding of 0, which random values never are.
pub fn optimizer_step_kernels_match_twins(device: &dyn KernelDevice) {
    for optimizer in optimizers() {
        for (seed, &shape) in SHAPES.iter().enumerate() {
            let (rows, outputs, inputs) = shape;
            let mut rng = ChaCha8Rng::seed_from_u64(80 + seed as u64);
            let step = optimizer.scalars(0.01, 3);
            let blocks = (
                BatchParams::new(0, 0, rows).with_step(step),
                LayerParams::new(inputs, outputs, 0.5).with_optimizer(optimizer),
            );
            let count = (inputs + 1) * outputs;
            let splits = blocks.0.splits as usize;
            let partials = uniform(&mut rng, splits * outputs * inputs, -0.2, 0.2);
            let deltas = uniform(&mut rng, rows * outputs, -0.05, 0.05);
            let parameters = uniform(&mut rng, count, -0.5, 0.5);
            let mut moments = uniform(&mut rng, count, -0.01, 0.01);
            moments.extend(uniform(&mut rng, count, 1e-4, 1e-3));
            let what = format!("{} {}", optimizer.describe(), shape_name(shape));
            let storage = vec![
                bytes(&partials),
                bytes(&deltas),
                bytes(&parameters),
                bytes(&moments),
            ];
            let stepped = check(device, Kernel::ParameterStep, blocks, storage, &what);
            let (weights, biases) = (outputs * inputs, count);
            let moved = |range: std::ops::Range<usize>| {
                let after = &stepped[2][4 * range.start..4 * range.end];
                after != &bytes(&parameters)[4 * range.start..4 * range.end]
            };
            assert!(moved(0..weights), "{what}: the step must move the weights");
            assert!(
                moved(weights..biases),
                "{what}: the step must move the biases"
            );
        }
    }
}

/// `max_norm` against its twin on random weights whose rows straddle the bound: rows of
/// uniform ±0.5 weights have norms near 0.29·√inputs, so a bound of 0.29·√inputs clips about
/// half of them. The weights are read and written, so they start random, not NaN. A sum of
/// ≤ 1100 squares in the same order, a square root and a product: a few ulps, within CLOSE.
pub fn max_norm_matches_twin(device: &dyn KernelDevice) {
    let mut rows = (0, 0);
    for (seed, &shape) in SHAPES.iter().enumerate() {
        let (_, outputs, inputs) = shape;
        let mut rng = ChaCha8Rng::seed_from_u64(70 + seed as u64);
        let bound = 0.29 * (inputs as f32).sqrt();
        let blocks = (
            BatchParams::new(0, 0, 1),
            LayerParams::new(inputs, outputs, 0.5).with_max_norm(bound),
        );
        let parameters = uniform(&mut rng, (inputs + 1) * outputs, -0.5, 0.5);
        let what = shape_name(shape);
        let got = check(
            device,
            Kernel::MaxNorm,
            blocks,
            vec![bytes(&parameters)],
            &what,
        );
        let clipped = f32s(&got[0])
            .chunks(inputs)
            .take(outputs)
            .zip(parameters.chunks(inputs))
            .filter(|(after, before)| after != before)
            .count();
        rows.0 += clipped;
        rows.1 += outputs;
        let biases = &f32s(&got[0])[inputs * outputs..];
        assert_eq!(
            biases,
            &parameters[inputs * outputs..],
            "{what}: biases moved"
        );
    }
    assert!(
        rows.0 > 0 && rows.0 < rows.1,
        "{} of {} rows clipped",
        rows.0,
        rows.1
    );
}

/// `dropout_forward` and `dropout_backward` against their twins (the masks of `Dropout`) at
/// element counts that are not multiples of the workgroup, a seed above 32 bits and a later
/// round, batch and layer; outputs poisoned (forward) or random (backward, in place). A
/// product by 0 or 1/(1 − rate): exact on both sides.
pub fn dropout_kernels_match_twins(device: &dyn KernelDevice) {
    for (seed, &shape) in SHAPES.iter().enumerate() {
        let (rows, outputs, inputs) = shape;
        let mut rng = ChaCha8Rng::seed_from_u64(90 + seed as u64);
        let rate = [0.5, 0.3, 0.1, 0.7][seed];
        let blocks = (
            BatchParams::new(3, 0, rows).in_round(2 + seed, 42 | (7 << 40)),
            LayerParams::new(inputs, outputs, 0.5)
                .with_dropout(1 + seed, Dropout::new(rate).expect("rate")),
        );
        let n = rows * outputs;
        let what = shape_name(shape);
        let storage = vec![bytes(&uniform(&mut rng, n, 0.01, 1.0)), poisoned(n)];
        let got = check_within(
            device,
            Kernel::DropoutForward.into(),
            blocks,
            storage,
            0.0,
            &what,
        );
        let kept = f32s(&got[1]).iter().filter(|&&d| d > 0.0).count();
        assert!(
            kept > 0 && kept < n,
            "some kept, some dropped: {kept} of {n}"
        );
        let storage = vec![bytes(&uniform(&mut rng, n, -0.5, 0.5))];
        check_within(
            device,
            Kernel::DropoutBackward.into(),
            blocks,
            storage,
            0.0,
            &what,
        );
    }
}

/// `gather_input` against its twin (`NoiseParams::apply`): a batch of images gathered through
/// a shuffled order from position 5, warped and/or input-dropped, written at each image's
/// slot of a poisoned buffer; sides of 5, 13 and 28 pixels (images ending mid-word), batches
/// not multiples of the workgroup, a seed above 32 bits and a later round and batch. The warp
/// is integer arithmetic on both sides: every level exactly equal, the untouched slots keep
/// their poison.
pub fn gather_input_matches_twin(device: &dyn KernelDevice) {
    let strong = Augment::new(3.0, 30.0, 0.3, 3.0).expect("bounds");
    let cases = [
        (37, 28, Augment::DEFAULT, 0.0),
        (130, 13, strong, 0.0),
        (5, 5, Augment::NONE, 0.3),
        (70, 28, Augment::DEFAULT, 0.2),
    ];
    for (case, &(rows, side, augment, rate)) in cases.iter().enumerate() {
        let mut rng = ChaCha8Rng::seed_from_u64(110 + case as u64);
        let pixels = side * side;
        let images_n = rows + 9;
        let packed = packed_images(&mut rng, images_n, pixels);
        let order = shuffled(&mut rng, images_n);
        let noise = InputNoise {
            augment,
            dropout: Dropout::new(rate).expect("rate"),
        };
        let batch = BatchParams::new(4, 5, rows)
            .in_round(3 + case, 42 | (5 << 40))
            .with_noise(noise.params(side as u32), noise.input_scale());
        let blocks = (batch, LayerParams::new(pixels, 10, 0.5));
        let storage = vec![bytes(&packed), bytes(&order), poisoned(packed.len())];
        let what = format!("gather_input case {case} ({rows} rows, side {side})");
        // `augmented` is a u32 buffer: compared exactly.
        let got = check_within(
            device,
            Kernel::GatherInput.into(),
            blocks,
            storage.clone(),
            0.0,
            &what,
        );
        let words = pixels.div_ceil(4);
        let (mut dark, mut total) = (0, 0);
        for image in 0..images_n {
            let slot = |b: &[u8]| u32s(b)[image * words..(image + 1) * words].to_vec();
            let got_slot = slot(&got[2]);
            if !order[5..5 + rows].contains(&(image as u32)) {
                assert_eq!(got_slot, slot(&storage[2]), "{what}: image {image} written");
                continue;
            }
            let levels: &[u8] = bytemuck::cast_slice(&got_slot);
            // Padding bytes past the last pixel are zero.
            assert!(levels[pixels..].iter().all(|&b| b == 0), "{what}: padding");
            dark += levels[..pixels].iter().filter(|&&level| level == 0).count();
            total += pixels;
        }
        // The noise did something: some pixels went dark, and not all of them.
        assert!(dark > 0 && dark < total, "{what}: {dark} of {total} dark");
        let before: Vec<u8> = bytemuck::cast_slice::<u32, u8>(&u32s(&storage[0])).to_vec();
        let after: Vec<u8> = bytemuck::cast_slice::<u32, u8>(&u32s(&got[2])).to_vec();
        let image = order[5] as usize * words * 4;
        assert_ne!(
            before[image..image + pixels],
            after[image..image + pixels],
            "{what}: the first image came through unchanged"
        );
    }
}
