//! Which form of each matrix product an engine runs: the register-block kernel or the tiled
//! kernel with a given tile. A [`KernelPlan`] comes from the tuner or from the deterministic
//! default for the adapter's class.

use super::kernels::{Kernel, Tile, Variant};
use crate::kernel_params::LayerParams;

/// The matrix products of training; each has a register-block kernel and a tiled one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Product {
    /// The first layer's forward product on packed images: `x·W1ᵀ`.
    ForwardInput,
    /// A later layer's forward product: `a·Wᵀ`.
    ForwardHidden,
    /// The back-propagated error: `δ·W`.
    BackpropError,
    /// The first layer's weight gradient (split-K): `δ1ᵀ·x`.
    WeightGradientInput,
    /// A later layer's weight gradient (split-K): `δᵀ·a`.
    WeightGradientHidden,
}

impl Product {
    pub const ALL: [Product; 5] = [
        Product::ForwardInput,
        Product::ForwardHidden,
        Product::BackpropError,
        Product::WeightGradientInput,
        Product::WeightGradientHidden,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Product::ForwardInput => "forward_input",
            Product::ForwardHidden => "forward_hidden",
            Product::BackpropError => "backprop_error",
            Product::WeightGradientInput => "weight_gradient_input",
            Product::WeightGradientHidden => "weight_gradient_hidden",
        }
    }

    /// The product's `(M, N, K)` over `rows` batch rows of `layer` (C = A·B, C being M × N).
    pub fn shape(self, rows: usize, layer: &LayerParams) -> (usize, usize, usize) {
        let (i, o) = (layer.inputs as usize, layer.outputs as usize);
        match self {
            Product::ForwardInput | Product::ForwardHidden => (rows, o, i),
            Product::BackpropError => (rows, i, o),
            Product::WeightGradientInput | Product::WeightGradientHidden => (o, i, rows),
        }
    }

    /// The register-block kernel and the tiled kernel of this product.
    pub fn kernels(self) -> (Kernel, Kernel) {
        match self {
            Product::ForwardInput => (Kernel::ForwardInput, Kernel::ForwardInputTiled),
            Product::ForwardHidden => (Kernel::ForwardHidden, Kernel::ForwardHiddenTiled),
            Product::BackpropError => (Kernel::BackpropError, Kernel::BackpropErrorTiled),
            Product::WeightGradientInput => (
                Kernel::WeightGradientInput,
                Kernel::WeightGradientInputTiled,
            ),
            Product::WeightGradientHidden => (
                Kernel::WeightGradientHidden,
                Kernel::WeightGradientHiddenTiled,
            ),
        }
    }

    /// Every form the tuner may choose on a device with `limits`: the register-block kernel,
    /// then the tiled kernel with each candidate tile that fits.
    pub fn candidates(self, limits: &wgpu::Limits) -> Vec<Variant> {
        let (direct, tiled) = self.kernels();
        let mut all = vec![Variant::from(direct)];
        all.extend(
            Tile::CANDIDATES
                .into_iter()
                .filter(|t| t.fits(limits))
                .map(|t| Variant::tiled(tiled, t)),
        );
        all
    }

    /// The tile a GPU gets without tuning: 64×64 tiles of 8×8 blocks (64 invocations, 8 KiB of
    /// workgroup memory: each FMA reads 1 byte of workgroup memory, half of what 4×4 blocks read,
    /// which the roofline model in docs/kernels.md shows to be the limit on NVIDIA GPUs), narrowed
    /// to 16 (4×4 blocks) along the side a 10-class output layer spans.
    pub fn default_tile(self) -> Tile {
        match self {
            Product::ForwardHidden => Tile::new(64, 16, 16, 4, 4),
            Product::WeightGradientHidden => Tile::new(16, 64, 16, 4, 4),
            _ => Tile::new(64, 64, 16, 8, 8),
        }
    }
}

/// The chosen form of each product.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KernelPlan {
    pub forward_input: Variant,
    pub forward_hidden: Variant,
    pub backprop_error: Variant,
    pub weight_gradient_input: Variant,
    pub weight_gradient_hidden: Variant,
}

impl KernelPlan {
    /// Tiled kernels with each product's default tile: what a hardware GPU runs untuned, and
    /// what the whole-round tests check everywhere.
    pub fn tiled_defaults() -> KernelPlan {
        KernelPlan::from_fn(|p| Variant::tiled(p.kernels().1, p.default_tile()))
    }

    /// The register-block kernels (no workgroup memory): what a software adapter runs
    /// untuned (on lavapipe every workgroup-memory access and barrier is a loop over the SIMD
    /// lanes, so staging tiles costs more than it saves).
    pub fn register_blocks() -> KernelPlan {
        KernelPlan::from_fn(|p| Variant::from(p.kernels().0))
    }

    /// The deterministic default for an adapter of this class, its tiles shrunk to fit
    /// `limits` where needed.
    pub fn default_for(info: &wgpu::AdapterInfo, limits: &wgpu::Limits) -> KernelPlan {
        if info.device_type == wgpu::DeviceType::Cpu {
            return KernelPlan::register_blocks();
        }
        KernelPlan::from_fn(|p| {
            let tile = p.default_tile();
            match p
                .candidates(limits)
                .into_iter()
                .find(|v| v.tile == Some(tile))
            {
                Some(v) => v,
                None => Variant::from(p.kernels().0),
            }
        })
    }

    pub fn from_fn(mut choose: impl FnMut(Product) -> Variant) -> KernelPlan {
        KernelPlan {
            forward_input: choose(Product::ForwardInput),
            forward_hidden: choose(Product::ForwardHidden),
            backprop_error: choose(Product::BackpropError),
            weight_gradient_input: choose(Product::WeightGradientInput),
            weight_gradient_hidden: choose(Product::WeightGradientHidden),
        }
    }

    pub fn get(&self, product: Product) -> Variant {
        match product {
            Product::ForwardInput => self.forward_input,
            Product::ForwardHidden => self.forward_hidden,
            Product::BackpropError => self.backprop_error,
            Product::WeightGradientInput => self.weight_gradient_input,
            Product::WeightGradientHidden => self.weight_gradient_hidden,
        }
    }

    pub fn set(&mut self, product: Product, variant: Variant) {
        match product {
            Product::ForwardInput => self.forward_input = variant,
            Product::ForwardHidden => self.forward_hidden = variant,
            Product::BackpropError => self.backprop_error = variant,
            Product::WeightGradientInput => self.weight_gradient_input = variant,
            Product::WeightGradientHidden => self.weight_gradient_hidden = variant,
        }
    }

    /// `forward_input=tiled 64x64x16 (4x4 per invocation), ...` in one line.
    pub fn describe(&self) -> String {
        Product::ALL
            .iter()
            .map(|&p| match self.get(p).tile {
                Some(t) => format!("{} {}x{}x{}/{}x{}", p.name(), t.bm, t.bn, t.bk, t.tm, t.tn),
                None => format!("{} register-block", p.name()),
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::gpu::kernels::Kernel;
    use crate::kernel_params::{BatchParams, LayerParams};

    /// The grids docs/kernels.md gives for one batch step of 784-128-10 on a discrete GPU.
    #[test]
    fn the_documented_gpu_grids_are_the_dispatched_ones() {
        let plan = KernelPlan::tiled_defaults();
        let (l1, l2) = (
            LayerParams::new(784, 128, 0.1),
            LayerParams::new(128, 10, 0.1),
        );
        for (rows, m_tiles, splits) in [(1000u32, 16, 2), (60_000, 938, 32)] {
            let b = BatchParams::new(0, 0, rows as usize);
            assert_eq!(plan.forward_input.workgroups(&b, &l1), [2, m_tiles, 1]);
            assert_eq!(plan.forward_hidden.workgroups(&b, &l2), [1, m_tiles, 1]);
            assert_eq!(plan.backprop_error.workgroups(&b, &l2), [2, m_tiles, 1]);
            assert_eq!(
                plan.weight_gradient_hidden.workgroups(&b, &l2),
                [2, 1, splits]
            );
            assert_eq!(
                plan.weight_gradient_input.workgroups(&b, &l1),
                [13, 2, splits]
            );
            assert_eq!(
                Kernel::OutputError.workgroups(&b, &l2),
                [rows.div_ceil(64), 1, 1]
            );
            assert_eq!(Kernel::BatchCost.workgroups(&b, &l2), [1, 1, 1]);
            assert_eq!(
                Kernel::weight_update_for(&l1).workgroups(&b, &l1),
                [392, 1, 1]
            );
            assert_eq!(
                Kernel::weight_update_for(&l2).workgroups(&b, &l2),
                [5, 1, 1]
            );
            assert_eq!(Kernel::bias_update_for(&l1), Kernel::BiasUpdateVec4);
            assert_eq!(Kernel::bias_update_for(&l2), Kernel::BiasUpdate);
        }
    }
}
