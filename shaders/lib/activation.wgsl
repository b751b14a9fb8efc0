// The activation of a layer's outputs and its derivative, chosen per pipeline by the override
// constant ACTIVATION (the ids of `Activation` in src/ops/activation.rs, its CPU twin, re-exported
// as src/twin/activation.rs). A new activation is one case here and one in the twin.
const ACTIVATION_SIGMOID: u32 = 0u;
const ACTIVATION_RELU: u32 = 1u;
const ACTIVATION_TANH: u32 = 2u;
// No activation: a softmax output layer's pre-activations (softmax runs after, per row).
const ACTIVATION_LINEAR: u32 = 3u;

override ACTIVATION: u32 = ACTIVATION_SIGMOID;

// f(z).
fn activate(z: f32) -> f32 {
    switch ACTIVATION {
        case ACTIVATION_RELU: {
            return max(z, 0.0);
        }
        case ACTIVATION_TANH: {
            return tanh(z);
        }
        case ACTIVATION_LINEAR: {
            return z;
        }
        case ACTIVATION_SIGMOID, default: {
            return 1.0 / (1.0 + exp(-z));
        }
    }
}

// f'(z), written in terms of the output a = f(z) (what the backward pass keeps).
fn activation_derivative(a: f32) -> f32 {
    switch ACTIVATION {
        case ACTIVATION_RELU: {
            return select(0.0, 1.0, a > 0.0);
        }
        case ACTIVATION_TANH: {
            return 1.0 - a * a;
        }
        case ACTIVATION_LINEAR: {
            return 1.0;
        }
        case ACTIVATION_SIGMOID, default: {
            return a * (1.0 - a);
        }
    }
}
