//! Every bind group of the engine, created once: which buffers each kernel dispatch reads and
//! writes, per layer and per image source.

use super::buffers::Buffers;
use super::context::{Bound, GpuContext, UniformSlots};
use super::kernels::Kernel;
use super::plan::KernelPlan;
use crate::Result;
use crate::kernel_params::LayerParams;

pub struct Groups {
    /// `forward_input` per `Source` (shuffled training, in-order training, test).
    pub forward_input: Vec<wgpu::BindGroup>,
    /// `forward_hidden` per layer (`None` for the first layer).
    pub forward_hidden: Vec<Option<wgpu::BindGroup>>,
    /// `output_error` for shuffled and in-order training.
    pub output_error: Vec<wgpu::BindGroup>,
    /// `batch_cost` for shuffled and in-order training.
    pub batch_cost: Vec<wgpu::BindGroup>,
    pub backprop_error: Vec<Option<wgpu::BindGroup>>,
    /// `weight_gradient_input` for shuffled and in-order training.
    pub weight_gradient_input: Vec<wgpu::BindGroup>,
    pub weight_gradient_hidden: Vec<Option<wgpu::BindGroup>>,
    pub weight_update: Vec<wgpu::BindGroup>,
    pub bias_update: Vec<wgpu::BindGroup>,
    /// With dropout: `forward_hidden` and `weight_gradient_hidden` reading the masked outputs
    /// of the layer below, and the mask kernels per hidden layer (all empty without dropout).
    pub forward_hidden_dropped: Vec<Option<wgpu::BindGroup>>,
    pub weight_gradient_hidden_dropped: Vec<Option<wgpu::BindGroup>>,
    pub dropout_forward: Vec<wgpu::BindGroup>,
    pub dropout_backward: Vec<wgpu::BindGroup>,
    /// `softmax` on the last layer's outputs.
    pub softmax: wgpu::BindGroup,
    /// `parameter_step` per layer (empty without moment buffers).
    pub parameter_step: Vec<wgpu::BindGroup>,
    /// `max_norm` per layer.
    pub max_norm: Vec<wgpu::BindGroup>,
    /// `gather_input` for shuffled and in-order training (empty without input noise).
    pub gather_input: Vec<wgpu::BindGroup>,
    pub evaluate_train: wgpu::BindGroup,
    pub evaluate_test: wgpu::BindGroup,
}

impl Groups {
    /// `blocks[l]` is layer l's uniform block (holding `layer_params[l]`); `slots` the
    /// per-batch blocks; `moments[l]` layer l's optimiser moments (none for the fused SGD).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        ctx: &GpuContext,
        b: &Buffers,
        slots: &UniformSlots,
        blocks: &[wgpu::Buffer],
        layer_params: &[LayerParams],
        plan: &KernelPlan,
        moments: &[wgpu::Buffer],
    ) -> Result<Groups> {
        let layers = blocks.len();
        let last = layers - 1;
        let group = |kernel, l: usize, storage: &[Bound<'_>]| {
            ctx.bind_group(kernel, slots, &blocks[l], storage)
        };
        let per_hidden_layer = |make: &dyn Fn(usize) -> Result<wgpu::BindGroup>| {
            (0..layers)
                .map(|l| if l == 0 { Ok(None) } else { make(l).map(Some) })
                .collect::<Result<Vec<_>>>()
        };
        let per_hidden_layer_dropped = |make: &dyn Fn(usize) -> Result<wgpu::BindGroup>| {
            if b.dropped.is_empty() {
                Ok(Vec::new())
            } else {
                per_hidden_layer(make)
            }
        };
        let (act, deltas) = (&b.activations, &b.deltas);
        // The output layer's kernels that read the training labels through an order.
        let labelled = |kernel, order: &wgpu::Buffer, out: Bound<'_>| {
            let storage = [
                ("activations", &act[last]),
                ("labels", &b.train.labels),
                ("order", order),
                out,
            ];
            group(kernel, last, &storage)
        };
        let evaluate = |labels: &wgpu::Buffer| {
            let storage = [
                ("activations", &act[last]),
                ("labels", labels),
                ("predictions", &b.predicted),
                ("correct", &b.correct_count),
            ];
            group(Kernel::Evaluate, last, &storage)
        };
        let training_orders = [&b.order, &b.identity];
        // What training batches' first layer reads: the distorted copies with input noise.
        let training_images = b.augmented.as_ref().unwrap_or(&b.train.images);
        let sources = [
            (training_images, &b.order),
            (training_images, &b.identity),
            (&b.test.images, &b.identity),
        ];
        Ok(Groups {
            forward_input: (sources.iter())
                .map(|(images, order)| {
                    let storage = [
                        ("images", *images),
                        ("order", *order),
                        ("parameters", &b.parameters[0]),
                        ("outputs", &act[0]),
                    ];
                    group(plan.forward_input.kernel, 0, &storage)
                })
                .collect::<Result<_>>()?,
            forward_hidden: per_hidden_layer(&|l| {
                let storage = [
                    ("inputs", &act[l - 1]),
                    ("parameters", &b.parameters[l]),
                    ("outputs", &act[l]),
                ];
                group(plan.forward_hidden.kernel, l, &storage)
            })?,
            output_error: (training_orders.iter())
                .map(|order| labelled(Kernel::OutputError, order, ("deltas", &deltas[last])))
                .collect::<Result<_>>()?,
            batch_cost: (training_orders.iter())
                .map(|order| labelled(Kernel::BatchCost, order, ("costs", &b.costs)))
                .collect::<Result<_>>()?,
            backprop_error: per_hidden_layer(&|l| {
                let storage = [
                    ("deltas", &deltas[l]),
                    ("weights", &b.parameters[l]),
                    ("activations_in", &act[l - 1]),
                    ("deltas_in", &deltas[l - 1]),
                ];
                group(plan.backprop_error.kernel, l, &storage)
            })?,
            weight_gradient_input: (training_orders.iter())
                .map(|order| {
                    let storage = [
                        ("deltas", &deltas[0]),
                        ("images", training_images),
                        ("order", *order),
                        ("partials", &b.partials),
                    ];
                    group(plan.weight_gradient_input.kernel, 0, &storage)
                })
                .collect::<Result<_>>()?,
            weight_gradient_hidden: per_hidden_layer(&|l| {
                let storage = [
                    ("deltas", &deltas[l]),
                    ("activations_in", &act[l - 1]),
                    ("partials", &b.partials),
                ];
                group(plan.weight_gradient_hidden.kernel, l, &storage)
            })?,
            weight_update: (0..layers)
                .map(|l| {
                    let kernel = Kernel::weight_update_for(&layer_params[l]);
                    group(
                        kernel,
                        l,
                        &[("partials", &b.partials), ("weights", &b.parameters[l])],
                    )
                })
                .collect::<Result<_>>()?,
            bias_update: (0..layers)
                .map(|l| {
                    let kernel = Kernel::bias_update_for(&layer_params[l]);
                    group(
                        kernel,
                        l,
                        &[("deltas", &deltas[l]), ("parameters", &b.parameters[l])],
                    )
                })
                .collect::<Result<_>>()?,
            forward_hidden_dropped: per_hidden_layer_dropped(&|l| {
                let storage = [
                    ("inputs", &b.dropped[l - 1]),
                    ("parameters", &b.parameters[l]),
                    ("outputs", &act[l]),
                ];
                group(plan.forward_hidden.kernel, l, &storage)
            })?,
            weight_gradient_hidden_dropped: per_hidden_layer_dropped(&|l| {
                let storage = [
                    ("deltas", &deltas[l]),
                    ("activations_in", &b.dropped[l - 1]),
                    ("partials", &b.partials),
                ];
                group(plan.weight_gradient_hidden.kernel, l, &storage)
            })?,
            dropout_forward: (b.dropped.iter().enumerate())
                .map(|(l, d)| {
                    group(
                        Kernel::DropoutForward,
                        l,
                        &[("activations", &act[l]), ("dropped", d)],
                    )
                })
                .collect::<Result<_>>()?,
            dropout_backward: (0..b.dropped.len())
                .map(|l| group(Kernel::DropoutBackward, l, &[("deltas", &deltas[l])]))
                .collect::<Result<_>>()?,
            softmax: group(Kernel::Softmax, last, &[("activations", &act[last])])?,
            parameter_step: (moments.iter().enumerate())
                .map(|(l, m)| {
                    let storage = [
                        ("partials", &b.partials),
                        ("deltas", &deltas[l]),
                        ("parameters", &b.parameters[l]),
                        ("moments", m),
                    ];
                    group(Kernel::ParameterStep, l, &storage)
                })
                .collect::<Result<_>>()?,
            max_norm: (0..b.parameters.len())
                .map(|l| group(Kernel::MaxNorm, l, &[("parameters", &b.parameters[l])]))
                .collect::<Result<_>>()?,
            gather_input: (b.augmented.iter())
                .flat_map(|augmented| training_orders.iter().map(move |o| (augmented, *o)))
                .map(|(augmented, order)| {
                    let storage = [
                        ("images", &b.train.images),
                        ("order", order),
                        ("augmented", augmented),
                    ];
                    group(Kernel::GatherInput, 0, &storage)
                })
                .collect::<Result<_>>()?,
            evaluate_train: evaluate(&b.train.labels)?,
            evaluate_test: evaluate(&b.test.labels)?,
        })
    }
}
