//! Initial weights: `uniform` (the tutorial's: weights and biases uniform in ±0.5), `he`
//! (uniform in ±√(6/fan_in), variance 2/fan_in, for relu) and `xavier` (uniform in
//! ±√(6/(fan_in + fan_out)), for sigmoid and tanh); he and xavier start biases at 0.
//!
//! Uniform draws only (no Box–Muller), from the portable ChaCha8 stream, so the same seed gives
//! bit-identical weights on every machine.

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Init {
    #[default]
    Uniform,
    He,
    Xavier,
}

/// The tutorial's half-width of the uniform init.
pub const UNIFORM_HALF_WIDTH: f32 = 0.5;

impl Init {
    pub const ALL: [Init; 3] = [Init::Uniform, Init::He, Init::Xavier];

    pub fn name(self) -> &'static str {
        match self {
            Init::Uniform => "uniform",
            Init::He => "he",
            Init::Xavier => "xavier",
        }
    }

    pub fn parse(text: &str) -> crate::Result<Self> {
        super::parse_named("init", text, &Self::ALL.map(|i| (i.name(), i)))
    }

    /// Half-width of the weights' uniform range for a layer.
    pub fn weight_half_width(self, inputs: usize, outputs: usize) -> f32 {
        match self {
            Init::Uniform => UNIFORM_HALF_WIDTH,
            Init::He => (6.0 / inputs as f64).sqrt() as f32,
            Init::Xavier => (6.0 / (inputs + outputs) as f64).sqrt() as f32,
        }
    }

    /// Whether biases are drawn like the weights (tutorial) or start at zero.
    pub fn random_biases(self) -> bool {
        self == Init::Uniform
    }
}
