//! The table of WGSL kernels, one row per kernel (source, bindings, overrides, dispatch rule),
//! the tile configurations of the tiled matrix kernels, and the composer that joins a kernel
//! with the WGSL library in `shaders/lib/`.

use super::compose::compose;
use crate::kernel_params::{BatchParams, LayerParams};
use crate::twin::activation::Activation;
use crate::{Error, Result};

/// Invocations per workgroup side of the register-block kernels (override `WG_X`/`WG_Y`).
pub const WORKGROUP_SIDE: u32 = 8;
/// Rows or columns covered by one workgroup of the 4×4 register-block kernels.
pub const TILE: u32 = WORKGROUP_SIDE * 4;
/// Rows or columns covered by one workgroup of the 8×8 register-block kernels (the first
/// layer's, the bulk of a round's FLOPs).
pub const WIDE_TILE: u32 = WORKGROUP_SIDE * 8;
/// Invocations per workgroup of the 1-D kernels (override `WG`).
pub const WORKGROUP_1D: u32 = 64;
/// The most workgroups the WebGPU default allows along one dimension; 1-D grids wrap into y.
pub const MAX_GROUPS_PER_DIMENSION: u32 = 65_535;

/// The WGSL library: `#import <name>` in a kernel pulls a file in once. Every file of
/// `shaders/lib/` and the libraries generated from the operation definitions, listed by
/// build.rs (the same list its own interface reading composes with).
const LIBRARY: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/library.rs"));

/// How a storage binding is accessed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Access {
    Read,
    ReadWrite,
}

/// The tile of a workgroup-tiled matrix kernel (`shaders/lib/gemm.wgsl`): a workgroup computes
/// `bm × bn` outputs through `bk`-deep slices staged in workgroup memory, each of its
/// `(bn/tn) × (bm/tm)` invocations a `tm × tn` register block. All multiples of 4.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Tile {
    pub bm: u32,
    pub bn: u32,
    pub bk: u32,
    pub tm: u32,
    pub tn: u32,
}

impl Tile {
    pub const fn new(bm: u32, bn: u32, bk: u32, tm: u32, tn: u32) -> Tile {
        Tile { bm, bn, bk, tm, tn }
    }

    /// Every tile the tuner may choose (each is checked against its twin in the tests).
    pub const CANDIDATES: [Tile; 7] = [
        Tile::new(64, 64, 16, 8, 8),
        Tile::new(64, 64, 16, 4, 4),
        Tile::new(32, 32, 16, 4, 4),
        Tile::new(64, 32, 16, 4, 4),
        Tile::new(128, 64, 8, 8, 4),
        Tile::new(64, 16, 16, 4, 4),
        Tile::new(16, 64, 16, 4, 4),
    ];

    /// Invocations per workgroup.
    pub fn invocations(self) -> u32 {
        (self.bm / self.tm) * (self.bn / self.tn)
    }

    /// Bytes of workgroup memory (both staged slices).
    pub fn workgroup_bytes(self) -> u32 {
        4 * self.bk * (self.bm + self.bn)
    }

    /// Whether the shape is well formed and fits `limits`.
    pub fn fits(self, limits: &wgpu::Limits) -> bool {
        let multiples = [self.bm, self.bn, self.bk, self.tm, self.tn]
            .iter()
            .all(|&v| v > 0 && v.is_multiple_of(4));
        multiples
            && self.bm.is_multiple_of(self.tm)
            && self.bn.is_multiple_of(self.tn)
            && self.invocations() <= limits.max_compute_invocations_per_workgroup
            && self.bn / self.tn <= limits.max_compute_workgroup_size_x
            && self.bm / self.tm <= limits.max_compute_workgroup_size_y
            && self.workgroup_bytes() <= limits.max_compute_workgroup_storage_size
    }
}

impl std::fmt::Display for Tile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "tiled {}x{}x{} ({}x{} per invocation)",
            self.bm, self.bn, self.bk, self.tm, self.tn
        )
    }
}

/// One compiled form of a kernel: the kernel, its tile (tiled kernels only) and the activation
/// its `ACTIVATION` override selects (kernels that import `activation` only; `linear` for the
/// forward kernels of a softmax output layer).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Variant {
    pub kernel: Kernel,
    pub tile: Option<Tile>,
    pub activation: Activation,
}

impl From<Kernel> for Variant {
    fn from(kernel: Kernel) -> Variant {
        Variant {
            kernel,
            tile: None,
            activation: Activation::default(),
        }
    }
}

impl Variant {
    pub fn tiled(kernel: Kernel, tile: Tile) -> Variant {
        Variant {
            tile: Some(tile),
            ..Variant::from(kernel)
        }
    }

    /// Every form the engine can compile: each kernel of the table, the tiled kernels with
    /// each candidate tile, and the kernels that take `ACTIVATION` with each activation. The compilers' tests (naga, Tint, the shader-language translations) take this.
    pub fn every() -> Vec<Variant> {
        let mut all = Vec::new();
        for kernel in Kernel::ALL {
            let tiles: Vec<Option<Tile>> = if kernel.is_tiled() {
                Tile::CANDIDATES.into_iter().map(Some).collect()
            } else {
                vec![None]
            };
            for tile in tiles {
                let plain = Variant {
                    tile,
                    ..Variant::from(kernel)
                };
                if !kernel.spec().interface.activation {
                    all.push(plain);
                    continue;
                }
                for activation in Activation::ALL {
                    all.push(Variant {
                        activation,
                        ..plain
                    });
                }
            }
        }
        all
    }

    /// The WGSL source the pipeline compiles: the tile's constants, then the kernel with its
    /// imports resolved.
    pub fn source(&self) -> Result<String> {
        let mut out = String::new();
        if let Some(t) = self.tile {
            for (name, value) in [
                ("BM", t.bm),
                ("BN", t.bn),
                ("BK", t.bk),
                ("TM", t.tm),
                ("TN", t.tn),
            ] {
                out.push_str(&format!("const {name}: u32 = {value}u;\n"));
            }
        }
        compose(
            self.kernel.name(),
            self.kernel.spec().source,
            LIBRARY,
            &mut Vec::new(),
            &mut out,
        )
        .map_err(Error::Gpu)?;
        Ok(out)
    }

    /// The override constants the pipeline is specialised with.
    pub fn constants(&self) -> Vec<(&'static str, f64)> {
        let spec = self.kernel.spec();
        let mut constants = match spec.workgroup {
            Workgroup::Square => vec![
                ("WG_X", f64::from(WORKGROUP_SIDE)),
                ("WG_Y", f64::from(WORKGROUP_SIDE)),
            ],
            Workgroup::Line => vec![("WG", f64::from(WORKGROUP_1D))],
            Workgroup::Fixed | Workgroup::Tiled => vec![],
        };
        if spec.interface.activation {
            constants.push(("ACTIVATION", f64::from(self.activation.id())));
        }
        constants
    }

    /// `forward_input_tiled (tiled 64x64x16 (4x4 per invocation))`, for messages; a kernel
    /// that takes `ACTIVATION` names it when it is not the default.
    pub fn describe(&self) -> String {
        let mut text = match self.tile {
            Some(tile) => format!("{} ({tile})", self.kernel.name()),
            None => self.kernel.name().to_string(),
        };
        if self.kernel.spec().interface.activation && self.activation != Activation::default() {
            text.push_str(&format!(" [{}]", self.activation.name()));
        }
        text
    }

    /// `tiled 64x64x16/4x4` or `register-block`, for tables.
    pub fn form(&self) -> String {
        match self.tile {
            Some(t) => format!("tiled {}x{}x{}/{}x{}", t.bm, t.bn, t.bk, t.tm, t.tn),
            None => "register-block".to_string(),
        }
    }

    /// The workgroup grid of one dispatch on `batch` rows of `layer`.
    pub fn workgroups(&self, batch: &BatchParams, layer: &LayerParams) -> [u32; 3] {
        let spec = self.kernel.spec();
        match (spec.grid, self.tile) {
            (Grid::Tiled(shape), Some(t)) => {
                let (m, n, z) = shape(batch, layer);
                [n.div_ceil(t.bn), m.div_ceil(t.bm), z]
            }
            (Grid::Fixed(rule), _) => rule(batch, layer),
            // A tiled kernel without a tile has nothing to run (rejected when compiling).
            (Grid::Tiled(_), None) => [0, 0, 0],
        }
    }
}

/// How a kernel's workgroup size is set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Workgroup {
    /// `WG_X × WG_Y` overrides (8 × 8).
    Square,
    /// One `WG` override (64).
    Line,
    /// Fixed in the source.
    Fixed,
    /// `(BN/TN, BM/TM)` from the tile's constants.
    Tiled,
}

/// `(M, N, z)` of a tiled kernel's product for a dispatch.
type ProductShape = fn(&BatchParams, &LayerParams) -> (u32, u32, u32);

/// How a kernel's dispatch grid follows from the batch and the layer.
#[derive(Clone, Copy)]
pub enum Grid {
    /// A workgroup per `BM × BN` tile of the `M × N` product, `z` deep.
    Tiled(ProductShape),
    /// Any other rule.
    Fixed(fn(&BatchParams, &LayerParams) -> [u32; 3]),
}

/// One row of the kernel table.
pub struct KernelSpec {
    /// The file stem in `shaders/` and the twin's module in `crate::twin`.
    pub name: &'static str,
    pub source: &'static str,
    /// The bindings, read from the WGSL by the build script.
    pub interface: &'static KernelInterface,
    /// Its CPU twin, `crate::twin::<name>::<name>`.
    pub twin: crate::twin::Twin,
    pub workgroup: Workgroup,
    pub grid: Grid,
}

/// What a kernel's WGSL declares, read by naga at build time (build.rs): the storage bindings
/// after the two uniforms (`@binding(2)` on), name and access, and whether it declares the
/// `ACTIVATION` override (that is, imports `activation`).
#[derive(Debug, PartialEq, Eq)]
pub struct KernelInterface {
    pub storage: &'static [(&'static str, Access)],
    /// The storage bindings whose elements are u32 (plain or atomic); the others hold f32.
    pub integers: &'static [&'static str],
    pub activation: bool,
}

/// The interfaces of every file in `shaders/`, one constant per kernel, named as the file.
mod interfaces {
    use super::{Access, KernelInterface};
    include!(concat!(env!("OUT_DIR"), "/interfaces.rs"));
}

/// Declares the kernels once: the `Kernel` enum, `Kernel::ALL` and the table come from one
/// list. A row names the kernel's file in `shaders/` (and so its twin in `crate::twin` and its
/// interface), how its workgroup size is set and its dispatch rule.
macro_rules! kernels {
    ($($kernel:ident = $file:ident, $workgroup:ident, $grid:expr;)*) => {
        /// One compute kernel: one `shaders/<name>.wgsl` file, one entry point `main`.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Kernel {
            $($kernel),*
        }

        impl Kernel {
            pub const ALL: [Kernel; [$(stringify!($file)),*].len()] = [$(Kernel::$kernel),*];
        }

        /// The kernel table, in `Kernel` order.
        static TABLE: [KernelSpec; [$(stringify!($file)),*].len()] = [$(KernelSpec {
            name: stringify!($file),
            source: include_str!(concat!("../../../shaders/", stringify!($file), ".wgsl")),
            interface: &interfaces::$file,
            twin: crate::twin::$file::$file,
            workgroup: Workgroup::$workgroup,
            grid: $grid,
        }),*];
    };
}

fn forward_product(b: &BatchParams, l: &LayerParams) -> (u32, u32, u32) {
    (b.rows, l.outputs, 1)
}
fn backprop_product(b: &BatchParams, l: &LayerParams) -> (u32, u32, u32) {
    (b.rows, l.inputs, 1)
}
fn gradient_product(b: &BatchParams, l: &LayerParams) -> (u32, u32, u32) {
    (l.outputs, l.inputs, b.splits)
}

// A layer's `parameters` buffer holds its weights (outputs × inputs) then its biases; kernels
// that touch only the weights bind the same buffer as `weights`. No kernel binds more than 4
// storage buffers (the downlevel limit per stage; checked by the shader tests).
kernels! {
    ForwardInput = forward_input, Square, Grid::Fixed(|b, l| [l.outputs.div_ceil(WIDE_TILE), b.rows.div_ceil(WIDE_TILE), 1]);
    ForwardInputTiled = forward_input_tiled, Tiled, Grid::Tiled(forward_product);
    ForwardHidden = forward_hidden, Square, Grid::Fixed(|b, l| [l.outputs.div_ceil(TILE), b.rows.div_ceil(TILE), 1]);
    ForwardHiddenTiled = forward_hidden_tiled, Tiled, Grid::Tiled(forward_product);
    OutputError = output_error, Line, Grid::Fixed(|b, _| linear(b.rows));
    BatchCost = batch_cost, Fixed, Grid::Fixed(|_, _| [1, 1, 1]);
    BackpropError = backprop_error, Square, Grid::Fixed(|b, l| [l.inputs.div_ceil(TILE), b.rows.div_ceil(TILE), 1]);
    BackpropErrorTiled = backprop_error_tiled, Tiled, Grid::Tiled(backprop_product);
    // Two words (8 pixels) per invocation along x.
    WeightGradientInput = weight_gradient_input, Square, Grid::Fixed(|b, l| {
        [l.words.div_ceil(2 * WORKGROUP_SIDE), l.outputs.div_ceil(WIDE_TILE), b.splits]
    });
    WeightGradientInputTiled = weight_gradient_input_tiled, Tiled, Grid::Tiled(gradient_product);
    WeightGradientHidden = weight_gradient_hidden, Square, Grid::Fixed(|b, l| [l.inputs.div_ceil(TILE), l.outputs.div_ceil(TILE), b.splits]);
    WeightGradientHiddenTiled = weight_gradient_hidden_tiled, Tiled, Grid::Tiled(gradient_product);
    WeightUpdate = weight_update, Line, Grid::Fixed(|_, l| linear(l.outputs * l.inputs));
    WeightUpdateVec4 = weight_update_vec4, Line, Grid::Fixed(|_, l| linear(l.outputs * l.inputs / 4));
    BiasUpdate = bias_update, Line, Grid::Fixed(|_, l| linear(l.outputs));
    BiasUpdateVec4 = bias_update_vec4, Line, Grid::Fixed(|_, l| linear(l.outputs / 4));
    Evaluate = evaluate, Line, Grid::Fixed(|b, _| linear(b.rows));
    Softmax = softmax, Line, Grid::Fixed(|b, _| linear(b.rows));
    BatchCostXent = batch_cost_xent, Fixed, Grid::Fixed(|_, _| [1, 1, 1]);
    ParameterStep = parameter_step, Line, Grid::Fixed(|_, l| linear((l.inputs + 1) * l.outputs));
    MaxNorm = max_norm, Line, Grid::Fixed(|_, l| linear(l.outputs));
    DropoutForward = dropout_forward, Line, Grid::Fixed(|b, l| linear(b.rows * l.outputs));
    DropoutBackward = dropout_backward, Line, Grid::Fixed(|b, l| linear(b.rows * l.outputs));
    GatherInput = gather_input, Line, Grid::Fixed(|b, l| linear(b.rows * l.words));
}

impl Kernel {
    /// This kernel's row of the table.
    pub fn spec(self) -> &'static KernelSpec {
        &TABLE[self as usize]
    }

    pub fn name(self) -> &'static str {
        self.spec().name
    }

    /// The storage bindings' access modes, in binding order.
    pub fn storage(self) -> impl ExactSizeIterator<Item = Access> {
        self.spec()
            .interface
            .storage
            .iter()
            .map(|&(_, access)| access)
    }

    /// Whether the kernel is a workgroup-tiled one (compiled per [`Tile`]).
    pub fn is_tiled(self) -> bool {
        self.spec().workgroup == Workgroup::Tiled
    }

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

    /// The grid of a non-tiled kernel (see [`Variant::workgroups`]).
    pub fn workgroups(self, batch: &BatchParams, layer: &LayerParams) -> [u32; 3] {
        Variant::from(self).workgroups(batch, layer)
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
    fn the_table_is_in_kernel_order_and_names_its_files() {
        for kernel in Kernel::ALL {
            assert!(kernel.spec().source.contains(kernel.name()), "{kernel:?}");
            assert_eq!(Kernel::ALL[kernel as usize], kernel);
        }
    }

    #[test]
    fn every_candidate_tile_fits_the_downlevel_limits() {
        for tile in Tile::CANDIDATES {
            assert!(tile.fits(&wgpu::Limits::downlevel_defaults()), "{tile}");
        }
    }
}
