//! Layer activations. Each is one definition in [`definitions`] (name, maths once, WGSL, what
//! the backward pass keeps); [`Activation`] enumerates them for the CLI, the model file, the
//! engines, the reference and the tests, and its id is the kernels' `ACTIVATION` override.

pub mod definitions;

pub use super::real::{Fast, Real, fast_sigmoid};
pub use definitions::{ActivationOp, Saved};
use definitions::{Gelu, Linear, Relu, Sigmoid, Silu, Tanh, for_each_activation};

/// Code generic over one activation, run for the one an [`Activation`] names (so the CPU
/// engine's loops are compiled per activation, with no branch inside).
pub trait Visit {
    type Output;
    fn visit<A: ActivationOp>(self) -> Self::Output;
}

macro_rules! activation_enum {
    ($($op:ident),*) => {
        /// One of the [`definitions`], by its position in their list (its WGSL id).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Activation {
            $($op),*
        }

        impl Activation {
            /// Every activation, in id order.
            pub const ALL: [Activation; [$(stringify!($op)),*].len()] = [$(Activation::$op),*];

            /// Runs `visitor` for this activation's definition.
            #[inline(always)]
            pub fn visit<V: Visit>(self, visitor: V) -> V::Output {
                match self {
                    $(Activation::$op => visitor.visit::<$op>()),*
                }
            }
        }
    };
}
for_each_activation!(activation_enum);

impl Default for Activation {
    fn default() -> Self {
        Activation::ALL[0]
    }
}

/// A definition's constants, as a [`Visit`].
struct Meta;
impl Visit for Meta {
    type Output = (&'static str, &'static str, Saved, bool);
    fn visit<A: ActivationOp>(self) -> Self::Output {
        (A::NAME, A::ABOUT, A::SAVES, A::HIDDEN)
    }
}

/// `f(z)` on one number type, as a [`Visit`].
struct Apply<R>(R);
impl<R: Real> Visit for Apply<R> {
    type Output = R;
    fn visit<A: ActivationOp>(self) -> R {
        A::apply(self.0)
    }
}

/// `f'(z)` from the saved value, as a [`Visit`].
struct Derivative<R>(R);
impl<R: Real> Visit for Derivative<R> {
    type Output = R;
    fn visit<A: ActivationOp>(self) -> R {
        A::derivative(self.0)
    }
}

/// `f'(z)` from `z`, as a [`Visit`].
struct DerivativeAt<R>(R);
impl<R: Real> Visit for DerivativeAt<R> {
    type Output = R;
    fn visit<A: ActivationOp>(self) -> R {
        definitions::derivative_at::<A, R>(self.0)
    }
}

impl Activation {
    /// The activations a hidden layer may use (every one but `linear`).
    pub fn hidden() -> impl Iterator<Item = Activation> {
        Self::ALL.into_iter().filter(|a| a.visit(Meta).3)
    }

    pub fn name(self) -> &'static str {
        self.visit(Meta).0
    }

    /// One line for `--help`.
    pub fn about(self) -> &'static str {
        self.visit(Meta).1
    }

    pub fn saves(self) -> Saved {
        self.visit(Meta).2
    }

    /// Values a layer's activation buffer keeps per output: `a`, or `a` then `z` when the
    /// derivative needs `z`.
    pub fn kept_per_output(self) -> usize {
        match self.saves() {
            Saved::Output => 1,
            Saved::Input => 2,
        }
    }

    /// Parses a hidden layer's activation.
    pub fn parse(text: &str) -> crate::Result<Self> {
        let names: Vec<(&str, Activation)> = Self::hidden().map(|a| (a.name(), a)).collect();
        super::parse_named("activation", text, &names)
    }

    /// The value of the WGSL override `ACTIVATION` (the generated library `activation`).
    pub fn id(self) -> u32 {
        self as u32
    }

    /// `f(z)` with libm: the kernels' CPU twins, and single images (prediction).
    pub fn apply(self, z: f32) -> f32 {
        self.visit(Apply(z))
    }

    /// `f'(z)` from the saved value (`a` or `z`, see [`Activation::saves`]), with libm.
    pub fn derivative(self, saved: f32) -> f32 {
        self.visit(Derivative(saved))
    }

    /// `f(z)` in f64, for the reference.
    pub fn f64(self, z: f64) -> f64 {
        self.visit(Apply(z))
    }

    /// `f'(z)` from `z` in f64, for the reference.
    pub fn derivative_at_f64(self, z: f64) -> f64 {
        self.visit(DerivativeAt(z))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_sigmoid_matches_f64() {
        let mut z = -20.0f32;
        while z <= 20.0 {
            let want = 1.0 / (1.0 + (-f64::from(z)).exp());
            let got = f64::from(fast_sigmoid(z));
            assert!(
                (got - want).abs() <= (4e-7 + 1e-7 * f64::from(z.abs())) * want,
                "σ({z}) = {got}, want {want}"
            );
            z += 0.001;
        }
        assert_eq!(fast_sigmoid(0.0), 0.5);
        assert_eq!(fast_sigmoid(200.0), 1.0);
        assert!(fast_sigmoid(-200.0) >= 0.0 && fast_sigmoid(-200.0) < 1e-37);
        assert!(fast_sigmoid(f32::NAN).is_nan());
    }

    #[test]
    fn names_round_trip_and_unknown_names_fail() {
        for a in Activation::hidden() {
            assert_eq!(Activation::parse(a.name()).expect("known"), a);
        }
        assert!(Activation::parse("linear").is_err());
        assert!(Activation::parse("swish").is_err());
        assert_eq!(Activation::default(), Activation::Sigmoid);
    }

    /// The three precisions agree, and each derivative (from what it saves) matches a central
    /// difference of the f64 function.
    #[test]
    fn fast_and_exact_agree_and_derivatives_match_differences() {
        struct Fast32(f32);
        impl Visit for Fast32 {
            type Output = f32;
            fn visit<A: ActivationOp>(self) -> f32 {
                A::apply(Fast(self.0)).0
            }
        }
        for a in Activation::ALL {
            let mut z = -8.0f32;
            while z <= 8.0 {
                let want = a.f64(f64::from(z));
                // Fast σ and tanh: ≤ 1e-6 absolute, times |z| ≤ 8 for the z-scaled ones.
                assert!(
                    (f64::from(a.visit(Fast32(z))) - want).abs() <= 1e-5,
                    "{a:?}({z})"
                );
                assert!((f64::from(a.apply(z)) - want).abs() <= 4e-6, "{a:?}({z})");
                // Central difference of the f64 function; relu skips its kink.
                let h = 1e-5;
                let z64 = f64::from(z);
                if a != Activation::Relu || z64.abs() > h {
                    let numeric = (a.f64(z64 + h) - a.f64(z64 - h)) / (2.0 * h);
                    let analytic = a.derivative_at_f64(z64);
                    assert!((numeric - analytic).abs() < 1e-8, "{a:?}'({z})");
                    let saved = match a.saves() {
                        Saved::Output => a.apply(z),
                        Saved::Input => z,
                    };
                    assert!(
                        (f64::from(a.derivative(saved)) - analytic).abs() < 1e-5,
                        "{a:?}'({z}) in f32"
                    );
                }
                z += 0.013;
            }
        }
    }

    #[test]
    fn the_wgsl_library_has_an_id_per_definition() {
        let library = definitions::wgsl_library();
        for a in Activation::ALL {
            let line = format!(
                "const ACTIVATION_{}: u32 = {}u;",
                a.name().to_uppercase(),
                a.id()
            );
            assert!(library.contains(&line), "{line}");
        }
    }
}
