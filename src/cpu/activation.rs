//! Twin of `shaders/lib/activation.wgsl`: the activation a pipeline's `ACTIVATION` override
//! selects, and its derivative written in terms of the output.

use crate::model::sigmoid;

/// An activation function; `id` is the WGSL `ACTIVATION` value. A new one is a variant here and
/// a case in `shaders/lib/activation.wgsl`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Activation {
    #[default]
    Sigmoid,
}

impl Activation {
    /// Every activation, for tests that cover them all.
    pub const ALL: [Activation; 1] = [Activation::Sigmoid];

    /// The value of the WGSL override `ACTIVATION`.
    pub fn id(self) -> u32 {
        match self {
            Activation::Sigmoid => 0,
        }
    }

    /// f(z).
    pub fn apply(self, z: f32) -> f32 {
        match self {
            Activation::Sigmoid => sigmoid(z),
        }
    }

    /// f'(z) from the output a = f(z).
    pub fn derivative(self, a: f32) -> f32 {
        match self {
            Activation::Sigmoid => a * (1.0 - a),
        }
    }
}
