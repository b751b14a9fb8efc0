// max_norm: keeps each unit's incoming weights within an L2 ball of radius c = layer.max_norm
// (Srivastava et al. 2014): after a step, a row whose norm exceeds c is scaled back onto it.
//   n = sqrt(Σ_i W[o][i]²); if n > c: W[o][i] *= c / n. The biases are left alone.
// Shapes: parameters (weights outputs × inputs, then biases). One invocation per unit.
#import line
@group(0) @binding(2) var<storage, read_write> parameters: array<f32>;

fn items() -> u32 {
    return layer.outputs;
}

fn item(o: u32) {
    let base = o * layer.inputs;
    var sum = 0.0;
    for (var i = 0u; i < layer.inputs; i++) {
        let w = parameters[base + i];
        sum += w * w;
    }
    let norm = sqrt(sum);
    if norm > layer.max_norm {
        let scale = layer.max_norm / norm;
        for (var i = 0u; i < layer.inputs; i++) {
            parameters[base + i] *= scale;
        }
    }
}
