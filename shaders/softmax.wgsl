// softmax: a softmax output layer's probabilities from its pre-activations, in place.
//   z = activations[r][·]; activations[r][j] = exp(z_j − max z) / Σ_k exp(z_k − max z).
// Shapes: activations (rows × layer.outputs). One invocation per row.
#import line
@group(0) @binding(2) var<storage, read_write> activations: array<f32>;

fn items() -> u32 {
    return batch.rows;
}

fn item(r: u32) {
    let base = r * layer.outputs;
    var top = activations[base];
    for (var j = 1u; j < layer.outputs; j++) {
        top = max(top, activations[base + j]);
    }
    var sum = 0.0;
    for (var j = 0u; j < layer.outputs; j++) {
        let e = exp(activations[base + j] - top);
        activations[base + j] = e;
        sum += e;
    }
    let inverse = 1.0 / sum;
    for (var j = 0u; j < layer.outputs; j++) {
        activations[base + j] *= inverse;
    }
}
