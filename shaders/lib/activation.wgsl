// The activation of a layer's outputs and its derivative, chosen per pipeline by the override
// constant ACTIVATION (the ids of `Activation` in src/cpu/activation.rs, its CPU twin). A new
// activation is one case here and one in the twin.
const ACTIVATION_SIGMOID: u32 = 0u;

override ACTIVATION: u32 = ACTIVATION_SIGMOID;

// f(z).
fn activate(z: f32) -> f32 {
    switch ACTIVATION {
        case ACTIVATION_SIGMOID, default: {
            return 1.0 / (1.0 + exp(-z));
        }
    }
}

// f'(z), written in terms of the output a = f(z) (what the backward pass keeps).
fn activation_derivative(a: f32) -> f32 {
    switch ACTIVATION {
        case ACTIVATION_SIGMOID, default: {
            return a * (1.0 - a);
        }
    }
}
