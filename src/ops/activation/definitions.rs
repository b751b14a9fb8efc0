//! The activations, each defined once: its name, what the backward pass keeps for it, its
//! maths (generic over [`Real`], so the same lines give the exact f32 the kernels' twins use,
//! the vectorisable f32 of the CPU engine and the f64 of the reference) and its WGSL.
//!
//! This file depends on nothing but std and [`crate::ops::real`]: the build script includes it to write the WGSL
//! library `activation` (see [`wgsl_library`]), whose `ACTIVATION` ids are the definitions'
//! positions in [`for_each_activation`]. A new activation is one definition here and one name
//! in that list.

use crate::ops::real::Real;

/// What the backward pass reads to take an activation's derivative.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Saved {
    /// The output `a = f(z)`: the derivative is a function of `a` (σ' = a(1 − a)), so the
    /// stored activations are all the backward pass needs.
    Output,
    /// The pre-activation `z`: `f` is not invertible (GELU and SiLU dip below 0), so the
    /// forward pass keeps `z` beside `a`.
    Input,
}

/// One activation function.
pub trait ActivationOp {
    /// As the CLI and the model file spell it.
    const NAME: &'static str;
    /// One line for `--help`.
    const ABOUT: &'static str;
    const SAVES: Saved;
    /// Whether a hidden layer may use it (`linear` only serves a softmax output layer).
    const HIDDEN: bool = true;
    /// `f(z)`.
    fn apply<R: Real>(z: R) -> R;
    /// `f'(z)` from what [`Self::SAVES`] names: `a = f(z)` or `z`.
    fn derivative<R: Real>(saved: R) -> R;
    /// WGSL statements computing `f(z)` from `z: f32` (ending in a `return`).
    const WGSL_APPLY: &'static str;
    /// WGSL statements computing the derivative from `s: f32`, the saved value.
    const WGSL_DERIVATIVE: &'static str;
}

/// `f'(z)` from `z` itself, whatever the activation saves (the reference keeps every `z`).
pub fn derivative_at<A: ActivationOp, R: Real>(z: R) -> R {
    match A::SAVES {
        Saved::Output => A::derivative(A::apply(z)),
        Saved::Input => A::derivative(z),
    }
}

fn c<R: Real>(x: f64) -> R {
    R::from_f64(x)
}

/// The tutorial's logistic sigmoid: σ(z) = 1/(1 + e^{−z}), σ' = a(1 − a).
pub struct Sigmoid;
impl ActivationOp for Sigmoid {
    const NAME: &'static str = "sigmoid";
    const ABOUT: &'static str = "1/(1 + e^-z), the tutorial's";
    const SAVES: Saved = Saved::Output;
    fn apply<R: Real>(z: R) -> R {
        z.sigmoid()
    }
    fn derivative<R: Real>(a: R) -> R {
        a * (c::<R>(1.0) - a)
    }
    const WGSL_APPLY: &'static str = "return 1.0 / (1.0 + exp(-z));";
    const WGSL_DERIVATIVE: &'static str = "return s * (1.0 - s);";
}

/// max(z, 0); its derivative [a > 0].
pub struct Relu;
impl ActivationOp for Relu {
    const NAME: &'static str = "relu";
    const ABOUT: &'static str = "max(z, 0)";
    const SAVES: Saved = Saved::Output;
    fn apply<R: Real>(z: R) -> R {
        z.max(c(0.0))
    }
    fn derivative<R: Real>(a: R) -> R {
        if a > c(0.0) { c(1.0) } else { c(0.0) }
    }
    const WGSL_APPLY: &'static str = "return max(z, 0.0);";
    const WGSL_DERIVATIVE: &'static str = "return select(0.0, 1.0, s > 0.0);";
}

/// tanh z; its derivative 1 − a².
pub struct Tanh;
impl ActivationOp for Tanh {
    const NAME: &'static str = "tanh";
    const ABOUT: &'static str = "tanh z";
    const SAVES: Saved = Saved::Output;
    fn apply<R: Real>(z: R) -> R {
        z.tanh()
    }
    fn derivative<R: Real>(a: R) -> R {
        c::<R>(1.0) - a * a
    }
    const WGSL_APPLY: &'static str = "return tanh(z);";
    const WGSL_DERIVATIVE: &'static str = "return 1.0 - s * s;";
}

/// No activation: a softmax output layer's pre-activations (the softmax runs after, per row).
pub struct Linear;
impl ActivationOp for Linear {
    const NAME: &'static str = "linear";
    const ABOUT: &'static str = "z (softmax output layers only)";
    const SAVES: Saved = Saved::Output;
    const HIDDEN: bool = false;
    fn apply<R: Real>(z: R) -> R {
        z
    }
    fn derivative<R: Real>(_: R) -> R {
        c(1.0)
    }
    const WGSL_APPLY: &'static str = "return z;";
    const WGSL_DERIVATIVE: &'static str = "return 1.0;";
}

/// √(2/π), GELU's tanh form.
pub const GELU_K: f64 = 0.797_884_560_802_865_4;
/// The cubic term of GELU's tanh form.
pub const GELU_C: f64 = 0.044_715;

/// GELU in its tanh form (Hendrycks & Gimpel; PyTorch's `approximate="tanh"`):
/// ½z(1 + tanh u), u = √(2/π)(z + 0.044715z³). Not monotone, so its derivative needs z:
/// ½(1 + t) + ½z(1 − t²)·√(2/π)(1 + 3·0.044715z²), t = tanh u.
pub struct Gelu;
impl ActivationOp for Gelu {
    const NAME: &'static str = "gelu";
    const ABOUT: &'static str = "z/2 (1 + tanh(sqrt(2/pi) (z + 0.044715 z^3)))";
    const SAVES: Saved = Saved::Input;
    fn apply<R: Real>(z: R) -> R {
        let u = c::<R>(GELU_K) * (z + c::<R>(GELU_C) * z * z * z);
        c::<R>(0.5) * z * (c::<R>(1.0) + u.tanh())
    }
    fn derivative<R: Real>(z: R) -> R {
        let u = c::<R>(GELU_K) * (z + c::<R>(GELU_C) * z * z * z);
        let t = u.tanh();
        let du = c::<R>(GELU_K) * (c::<R>(1.0) + c::<R>(3.0 * GELU_C) * z * z);
        c::<R>(0.5) * (c::<R>(1.0) + t) + c::<R>(0.5) * z * (c::<R>(1.0) - t * t) * du
    }
    // tanh is clamped to ±10 (tanh 10 rounds to 1 in f32): some GPUs' tanh overflows to NaN
    // for large arguments, and z³ makes them large early.
    const WGSL_APPLY: &'static str = "let u = 0.7978845608028654 * (z + 0.044715 * z * z * z);
    return 0.5 * z * (1.0 + tanh(clamp(u, -10.0, 10.0)));";
    const WGSL_DERIVATIVE: &'static str = "let u = 0.7978845608028654 * (s + 0.044715 * s * s * s);
    let t = tanh(clamp(u, -10.0, 10.0));
    let du = 0.7978845608028654 * (1.0 + 0.134145 * s * s);
    return 0.5 * (1.0 + t) + 0.5 * s * (1.0 - t * t) * du;";
}

/// SiLU (swish, Elfwing et al.; Ramachandran et al.): z·σ(z). Not monotone, so its
/// derivative needs z: σ(z)(1 + z(1 − σ(z))).
pub struct Silu;
impl ActivationOp for Silu {
    const NAME: &'static str = "silu";
    const ABOUT: &'static str = "z sigmoid(z)";
    const SAVES: Saved = Saved::Input;
    fn apply<R: Real>(z: R) -> R {
        z * z.sigmoid()
    }
    fn derivative<R: Real>(z: R) -> R {
        let s = z.sigmoid();
        s * (c::<R>(1.0) + z * (c::<R>(1.0) - s))
    }
    const WGSL_APPLY: &'static str = "return z * (1.0 / (1.0 + exp(-z)));";
    const WGSL_DERIVATIVE: &'static str = "let g = 1.0 / (1.0 + exp(-s));
    return g * (1.0 + s * (1.0 - g));";
}

/// Calls `$m!` with every activation, in `ACTIVATION` id order (the first is the default).
macro_rules! for_each_activation {
    ($m:ident) => {
        $m! { Sigmoid, Relu, Tanh, Linear, Gelu, Silu }
    };
}
#[allow(unused_imports)] // the build script generates WGSL only
pub(crate) use for_each_activation;

/// The WGSL library `activation`: an `ACTIVATION_<NAME>` id per definition, the `ACTIVATION`
/// override, and `activate(z)`, `activation_derivative(s)` and `activation_saves_input()`
/// switching on it.
pub fn wgsl_library() -> String {
    struct Row {
        name: &'static str,
        saves_input: bool,
        apply: &'static str,
        derivative: &'static str,
    }
    macro_rules! rows {
        ($($op:ident),*) => {
            vec![$(Row {
                name: $op::NAME,
                saves_input: $op::SAVES == Saved::Input,
                apply: $op::WGSL_APPLY,
                derivative: $op::WGSL_DERIVATIVE,
            }),*]
        };
    }
    let rows: Vec<Row> = { for_each_activation!(rows) };
    let id = |name: &str| format!("ACTIVATION_{}", name.to_uppercase());
    let mut out = String::from(
        "// Generated from the activation definitions (src/ops/activation/definitions.rs).\n#import params\n",
    );
    for (i, row) in rows.iter().enumerate() {
        out.push_str(&format!("const {}: u32 = {i}u;\n", id(row.name)));
    }
    out.push_str(&format!(
        "override ACTIVATION: u32 = {};\n\n",
        id(rows[0].name)
    ));
    for row in &rows {
        out.push_str(&format!(
            "fn activate_{0}(z: f32) -> f32 {{\n    {1}\n}}\n\nfn activation_derivative_{0}(s: f32) -> f32 {{\n    {2}\n}}\n\n",
            row.name, row.apply, row.derivative
        ));
    }
    let switch = |function: &str, argument: &str, out: &mut String| {
        for (i, row) in rows.iter().enumerate() {
            let default = if i == 0 { ", default" } else { "" };
            out.push_str(&format!(
                "        case {}{default}: {{\n            return {function}_{}({argument});\n        }}\n",
                id(row.name),
                row.name
            ));
        }
    };
    out.push_str("// f(z).\nfn activate(z: f32) -> f32 {\n    switch ACTIVATION {\n");
    switch("activate", "z", &mut out);
    out.push_str("    }\n}\n\n");
    out.push_str(
        "// f'(z) from the saved value s: the output a = f(z), or z when \
         activation_saves_input().\nfn activation_derivative(s: f32) -> f32 {\n    switch ACTIVATION {\n",
    );
    switch("activation_derivative", "s", &mut out);
    out.push_str("    }\n}\n\n");
    let saving: Vec<String> = rows
        .iter()
        .filter(|r| r.saves_input)
        .map(|r| format!("ACTIVATION == {}", id(r.name)))
        .collect();
    let saving = if saving.is_empty() {
        "false".to_string()
    } else {
        saving.join(" || ")
    };
    out.push_str(&format!(
        "// Whether the forward kernels keep z beside a (shaders/lib/forward.wgsl).\nfn activation_saves_input() -> bool {{\n    return {saving};\n}}\n\n"
    ));
    out.push_str(
        "// Where the saved values of a layer `width` wide begin in its activation buffer: its\n\
         // outputs, or its z layer.saved_rows rows past them.\n\
         fn saved_offset(width: u32) -> u32 {\n    \
         return select(0u, layer.saved_rows * width, activation_saves_input());\n}\n",
    );
    out
}
