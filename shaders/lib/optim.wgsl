// The optimisers' rule for one parameter, the twin of `Optimizer::update` in src/optim.rs:
//   sgd:      p −= lr·g
//   momentum: m = μm + g; p −= lr·m, or with Nesterov p −= lr·(g + μm)
//   adam:     m = β₁m + (1−β₁)g; v = β₂v + (1−β₂)g²; p −= lr·(m·c₁)/(√(v·c₂) + ε)
//   adamw:    p −= lr·λ·p first, then adam
// lr, c₁ = 1/(1 − β₁ᵗ) and c₂ = 1/(1 − β₂ᵗ) are the step's (Batch); the rest the layer's.
const OPTIMIZER_SGD: u32 = 0u;
const OPTIMIZER_MOMENTUM: u32 = 1u;
const OPTIMIZER_ADAM: u32 = 2u;
const OPTIMIZER_ADAMW: u32 = 3u;

// The parameter after one step; m and v are updated in place (left alone when unused).
fn optimizer_update(p: f32, g: f32, m: ptr<function, f32>, v: ptr<function, f32>) -> f32 {
    let lr = batch.lr;
    switch layer.optimizer {
        case OPTIMIZER_MOMENTUM: {
            *m = layer.beta1 * *m + g;
            var step = *m;
            if layer.nesterov != 0u {
                step = g + layer.beta1 * *m;
            }
            return p - lr * step;
        }
        case OPTIMIZER_ADAM, OPTIMIZER_ADAMW: {
            var q = p;
            if layer.optimizer == OPTIMIZER_ADAMW {
                q -= lr * layer.weight_decay * q;
            }
            *m = layer.beta1 * *m + (1.0 - layer.beta1) * g;
            *v = layer.beta2 * *v + (1.0 - layer.beta2) * g * g;
            let m_hat = *m * batch.correction1;
            let v_hat = *v * batch.correction2;
            return q - lr * m_hat / (sqrt(v_hat) + layer.eps);
        }
        case OPTIMIZER_SGD, default: {
            return p - lr * g;
        }
    }
}

// Steps parameter `e` of a layer (its index in the parameters buffer) by gradient `g`; its
// moments sit at `moments[e]` and `moments[count + e]`, count = (inputs + 1)·outputs (the
// kernel declares `parameters` and `moments`; plain SGD touches no moment).
fn step_parameter(e: u32, g: f32) {
    var m = 0.0;
    var v = 0.0;
    if layer.optimizer == OPTIMIZER_SGD {
        parameters[e] = optimizer_update(parameters[e], g, &m, &v);
        return;
    }
    let count = (layer.inputs + 1u) * layer.outputs;
    m = moments[e];
    v = moments[count + e];
    parameters[e] = optimizer_update(parameters[e], g, &m, &v);
    moments[e] = m;
    moments[count + e] = v;
}
