//! The table of WGSL kernels: source, bindings and dispatch arithmetic, in one place.

use super::params::{BatchParams, LayerParams};

/// Invocations per workgroup side of the 2-D register-blocked kernels (override `WG_X`/`WG_Y`).
pub const WORKGROUP_SIDE: u32 = 8;
/// Outputs per invocation side in the register-blocked kernels (4×4 blocks).
pub const BLOCK: u32 = 4;
/// Rows or columns covered by one 2-D workgroup.
pub const TILE: u32 = WORKGROUP_SIDE * BLOCK;
/// The first layer's kernels (the bulk of a round's FLOPs) use 8×8 blocks: more FMAs per load.
pub const WIDE_BLOCK: u32 = 8;
/// Rows or columns covered by one 2-D workgroup of the 8×8-block kernels.
pub const WIDE_TILE: u32 = WORKGROUP_SIDE * WIDE_BLOCK;
/// Lanes of the subgroup kernels' workgroups: one workgroup is one subgroup, so they run only
/// where the adapter's smallest subgroup has at least this many lanes.
pub const SUBGROUP_LANES: u32 = 8;
/// `forward_input_subgroup`: outputs (8 lanes × 1) and rows (8 lanes × 8 words) per workgroup.
pub const SUBGROUP_FORWARD_OUTPUTS: u32 = 16;
pub const SUBGROUP_FORWARD_ROWS: u32 = 64;
/// `forward_input_subgroup` reads 16 pixels (a vec4 of packed words) per step: the layer's
/// input count must be a multiple of this (784 is).
pub const SUBGROUP_FORWARD_INPUT_MULTIPLE: u32 = 16;
/// `weight_gradient_input_subgroup`: words (one per lane) and outputs (8 lanes × 2) per workgroup.
pub const SUBGROUP_GRADIENT_WORDS: u32 = 2 * SUBGROUP_LANES;
pub const SUBGROUP_GRADIENT_OUTPUTS: u32 = 16;
/// `forward_hidden_subgroup` and `backprop_error_subgroup`: columns (outputs or inputs, 8 lanes
/// × 2) and rows (8 lanes × 4) per workgroup.
pub const SUBGROUP_HIDDEN_COLUMNS: u32 = 16;
pub const SUBGROUP_HIDDEN_ROWS: u32 = 32;
/// `weight_gradient_hidden_subgroup`: inputs (8 lanes × 4) and outputs (8 lanes × 2) per
/// workgroup.
pub const SUBGROUP_HIDDEN_GRADIENT_INPUTS: u32 = 32;
pub const SUBGROUP_HIDDEN_GRADIENT_OUTPUTS: u32 = 16;
/// Invocations per workgroup of the 1-D kernels (override `WG`).
pub const WORKGROUP_1D: u32 = 64;
/// The most workgroups the WebGPU default allows along one dimension; 1-D grids wrap into y.
pub const MAX_GROUPS_PER_DIMENSION: u32 = 65_535;

/// One compute kernel: one `shaders/<name>.wgsl` file, one entry point `main`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kernel {
    ForwardInput,
    ForwardHidden,
    OutputError,
    BatchCost,
    BackpropError,
    WeightGradientInput,
    WeightGradientHidden,
    WeightUpdate,
    BiasUpdate,
    Evaluate,
    /// `forward_input` sharing loads through `subgroupBroadcast` (adapters with subgroups).
    ForwardInputSubgroup,
    /// `weight_gradient_input` sharing loads through `subgroupBroadcast`.
    WeightGradientInputSubgroup,
    /// `forward_hidden` sharing loads through `subgroupBroadcast`.
    ForwardHiddenSubgroup,
    /// `backprop_error` sharing loads through `subgroupBroadcast`.
    BackpropErrorSubgroup,
    /// `weight_gradient_hidden` sharing loads through `subgroupBroadcast`.
    WeightGradientHiddenSubgroup,
    /// `weight_update` on vec4s, for layers with a multiple of 4 weights.
    WeightUpdateVec4,
    /// `bias_update` on vec4s, for layers with a multiple of 4 outputs.
    BiasUpdateVec4,
}

/// How a storage binding is accessed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    Read,
    ReadWrite,
}

use Access::{Read, ReadWrite};

impl Kernel {
    pub const ALL: [Kernel; 17] = [
        Kernel::ForwardInput,
        Kernel::ForwardHidden,
        Kernel::OutputError,
        Kernel::BatchCost,
        Kernel::BackpropError,
        Kernel::WeightGradientInput,
        Kernel::WeightGradientHidden,
        Kernel::WeightUpdate,
        Kernel::BiasUpdate,
        Kernel::Evaluate,
        Kernel::ForwardInputSubgroup,
        Kernel::WeightGradientInputSubgroup,
        Kernel::ForwardHiddenSubgroup,
        Kernel::BackpropErrorSubgroup,
        Kernel::WeightGradientHiddenSubgroup,
        Kernel::WeightUpdateVec4,
        Kernel::BiasUpdateVec4,
    ];

    /// The weight-update kernel for a layer of `layer`'s shape: four weights per invocation
    /// when the layer's weight count is a multiple of 4.
    pub fn weight_update_for(layer: &LayerParams) -> Kernel {
        if (layer.outputs * layer.inputs).is_multiple_of(4) {
            Kernel::WeightUpdateVec4
        } else {
            Kernel::WeightUpdate
        }
    }

    /// The bias-update kernel for a layer of `layer`'s shape: four biases per invocation when
    /// the layer's output count is a multiple of 4.
    pub fn bias_update_for(layer: &LayerParams) -> Kernel {
        if layer.outputs.is_multiple_of(4) {
            Kernel::BiasUpdateVec4
        } else {
            Kernel::BiasUpdate
        }
    }

    /// Whether the kernel uses subgroup operations (compiled only where the adapter has them).
    pub fn needs_subgroups(self) -> bool {
        matches!(
            self,
            Kernel::ForwardInputSubgroup
                | Kernel::WeightGradientInputSubgroup
                | Kernel::ForwardHiddenSubgroup
                | Kernel::BackpropErrorSubgroup
                | Kernel::WeightGradientHiddenSubgroup
        )
    }

    /// The file stem in `shaders/` and the twin's module name in `crate::cpu`.
    pub fn name(self) -> &'static str {
        match self {
            Kernel::ForwardInput => "forward_input",
            Kernel::ForwardHidden => "forward_hidden",
            Kernel::OutputError => "output_error",
            Kernel::BatchCost => "batch_cost",
            Kernel::BackpropError => "backprop_error",
            Kernel::WeightGradientInput => "weight_gradient_input",
            Kernel::WeightGradientHidden => "weight_gradient_hidden",
            Kernel::WeightUpdate => "weight_update",
            Kernel::BiasUpdate => "bias_update",
            Kernel::Evaluate => "evaluate",
            Kernel::ForwardInputSubgroup => "forward_input_subgroup",
            Kernel::WeightGradientInputSubgroup => "weight_gradient_input_subgroup",
            Kernel::ForwardHiddenSubgroup => "forward_hidden_subgroup",
            Kernel::BackpropErrorSubgroup => "backprop_error_subgroup",
            Kernel::WeightGradientHiddenSubgroup => "weight_gradient_hidden_subgroup",
            Kernel::WeightUpdateVec4 => "weight_update_vec4",
            Kernel::BiasUpdateVec4 => "bias_update_vec4",
        }
    }

    pub fn source(self) -> &'static str {
        match self {
            Kernel::ForwardInput => include_str!("../../../shaders/forward_input.wgsl"),
            Kernel::ForwardHidden => include_str!("../../../shaders/forward_hidden.wgsl"),
            Kernel::OutputError => include_str!("../../../shaders/output_error.wgsl"),
            Kernel::BatchCost => include_str!("../../../shaders/batch_cost.wgsl"),
            Kernel::BackpropError => include_str!("../../../shaders/backprop_error.wgsl"),
            Kernel::WeightGradientInput => {
                include_str!("../../../shaders/weight_gradient_input.wgsl")
            }
            Kernel::WeightGradientHidden => {
                include_str!("../../../shaders/weight_gradient_hidden.wgsl")
            }
            Kernel::WeightUpdate => include_str!("../../../shaders/weight_update.wgsl"),
            Kernel::BiasUpdate => include_str!("../../../shaders/bias_update.wgsl"),
            Kernel::Evaluate => include_str!("../../../shaders/evaluate.wgsl"),
            Kernel::ForwardInputSubgroup => {
                include_str!("../../../shaders/forward_input_subgroup.wgsl")
            }
            Kernel::WeightGradientInputSubgroup => {
                include_str!("../../../shaders/weight_gradient_input_subgroup.wgsl")
            }
            Kernel::ForwardHiddenSubgroup => {
                include_str!("../../../shaders/forward_hidden_subgroup.wgsl")
            }
            Kernel::BackpropErrorSubgroup => {
                include_str!("../../../shaders/backprop_error_subgroup.wgsl")
            }
            Kernel::WeightGradientHiddenSubgroup => {
                include_str!("../../../shaders/weight_gradient_hidden_subgroup.wgsl")
            }
            Kernel::WeightUpdateVec4 => include_str!("../../../shaders/weight_update_vec4.wgsl"),
            Kernel::BiasUpdateVec4 => include_str!("../../../shaders/bias_update_vec4.wgsl"),
        }
    }

    /// The storage bindings after the two uniforms (`@binding(2)` on), in order.
    pub fn storage(self) -> &'static [Access] {
        match self {
            // images, order, weights, biases → outputs
            Kernel::ForwardInput | Kernel::ForwardInputSubgroup => {
                &[Read, Read, Read, Read, ReadWrite]
            }
            // inputs, weights, biases → outputs
            Kernel::ForwardHidden | Kernel::ForwardHiddenSubgroup => &[Read, Read, Read, ReadWrite],
            // activations, labels, order → deltas, row_costs
            Kernel::OutputError => &[Read, Read, Read, ReadWrite, ReadWrite],
            // row_costs → costs
            Kernel::BatchCost => &[Read, ReadWrite],
            // deltas, weights, activations_in → deltas_in
            Kernel::BackpropError | Kernel::BackpropErrorSubgroup => &[Read, Read, Read, ReadWrite],
            // deltas, images, order → partials
            Kernel::WeightGradientInput | Kernel::WeightGradientInputSubgroup => {
                &[Read, Read, Read, ReadWrite]
            }
            // deltas, activations_in → partials
            Kernel::WeightGradientHidden | Kernel::WeightGradientHiddenSubgroup => {
                &[Read, Read, ReadWrite]
            }
            // partials → weights
            Kernel::WeightUpdate | Kernel::WeightUpdateVec4 => &[Read, ReadWrite],
            // deltas → biases
            Kernel::BiasUpdate | Kernel::BiasUpdateVec4 => &[Read, ReadWrite],
            // activations, labels → predictions, correct
            Kernel::Evaluate => &[Read, Read, ReadWrite, ReadWrite],
        }
    }

    /// The pipeline-overridable constants each kernel is specialised with.
    pub fn constants(self) -> &'static [(&'static str, f64)] {
        const SIDE: f64 = WORKGROUP_SIDE as f64;
        const LINE: f64 = WORKGROUP_1D as f64;
        match self {
            Kernel::ForwardInput
            | Kernel::ForwardHidden
            | Kernel::BackpropError
            | Kernel::WeightGradientInput
            | Kernel::WeightGradientHidden => &[("WG_X", SIDE), ("WG_Y", SIDE)],
            Kernel::OutputError
            | Kernel::WeightUpdate
            | Kernel::WeightUpdateVec4
            | Kernel::BiasUpdate
            | Kernel::BiasUpdateVec4
            | Kernel::Evaluate => &[("WG", LINE)],
            // The subgroup kernels' size is fixed at SUBGROUP_LANES: one workgroup, one subgroup.
            Kernel::BatchCost
            | Kernel::ForwardInputSubgroup
            | Kernel::WeightGradientInputSubgroup
            | Kernel::ForwardHiddenSubgroup
            | Kernel::BackpropErrorSubgroup
            | Kernel::WeightGradientHiddenSubgroup => &[],
        }
    }

    /// The workgroup grid of one dispatch of this kernel on `batch` rows of `layer`.
    pub fn workgroups(self, batch: &BatchParams, layer: &LayerParams) -> [u32; 3] {
        let rows = batch.rows;
        match self {
            Kernel::ForwardInput => [
                layer.outputs.div_ceil(WIDE_TILE),
                rows.div_ceil(WIDE_TILE),
                1,
            ],
            Kernel::ForwardHidden => [layer.outputs.div_ceil(TILE), rows.div_ceil(TILE), 1],
            Kernel::BackpropError => [layer.inputs.div_ceil(TILE), rows.div_ceil(TILE), 1],
            // Two words (8 pixels) per invocation along x.
            Kernel::WeightGradientInput => [
                layer.words.div_ceil(2 * WORKGROUP_SIDE),
                layer.outputs.div_ceil(WIDE_TILE),
                batch.splits,
            ],
            Kernel::WeightGradientHidden => [
                layer.inputs.div_ceil(TILE),
                layer.outputs.div_ceil(TILE),
                batch.splits,
            ],
            Kernel::ForwardInputSubgroup => [
                layer.outputs.div_ceil(SUBGROUP_FORWARD_OUTPUTS),
                rows.div_ceil(SUBGROUP_FORWARD_ROWS),
                1,
            ],
            Kernel::WeightGradientInputSubgroup => [
                layer.words.div_ceil(SUBGROUP_GRADIENT_WORDS),
                layer.outputs.div_ceil(SUBGROUP_GRADIENT_OUTPUTS),
                batch.splits,
            ],
            Kernel::ForwardHiddenSubgroup => [
                layer.outputs.div_ceil(SUBGROUP_HIDDEN_COLUMNS),
                rows.div_ceil(SUBGROUP_HIDDEN_ROWS),
                1,
            ],
            Kernel::BackpropErrorSubgroup => [
                layer.inputs.div_ceil(SUBGROUP_HIDDEN_COLUMNS),
                rows.div_ceil(SUBGROUP_HIDDEN_ROWS),
                1,
            ],
            Kernel::WeightGradientHiddenSubgroup => [
                layer.inputs.div_ceil(SUBGROUP_HIDDEN_GRADIENT_INPUTS),
                layer.outputs.div_ceil(SUBGROUP_HIDDEN_GRADIENT_OUTPUTS),
                batch.splits,
            ],
            Kernel::OutputError | Kernel::Evaluate => linear(rows),
            Kernel::BatchCost => [1, 1, 1],
            Kernel::WeightUpdate => linear(layer.outputs * layer.inputs),
            Kernel::WeightUpdateVec4 => linear(layer.outputs * layer.inputs / 4),
            Kernel::BiasUpdate => linear(layer.outputs),
            Kernel::BiasUpdateVec4 => linear(layer.outputs / 4),
        }
    }
}

/// A 1-D grid of `WORKGROUP_1D`-wide workgroups covering `items`, wrapped into y past the
/// per-dimension limit (the kernels index `id.x + id.y · groups.x · WG`).
fn linear(items: u32) -> [u32; 3] {
    let groups = items.div_ceil(WORKGROUP_1D).max(1);
    let x = groups.min(MAX_GROUPS_PER_DIMENSION);
    [x, groups.div_ceil(x), 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_grids_cover_every_item_within_limits() {
        for items in [1u32, 63, 64, 65, 10_000_000] {
            let [x, y, z] = linear(items);
            assert!(x <= MAX_GROUPS_PER_DIMENSION && y <= MAX_GROUPS_PER_DIMENSION && z == 1);
            assert!(u64::from(x) * u64::from(y) * u64::from(WORKGROUP_1D) >= u64::from(items));
        }
    }

    #[test]
    fn every_kernel_has_its_own_source() {
        for kernel in Kernel::ALL {
            assert!(kernel.source().contains(kernel.name()));
        }
    }
}
