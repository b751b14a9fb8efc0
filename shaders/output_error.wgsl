// output_error: the last layer's error.
//   y = one-hot of labels[order[batch.first + r]]; deltas[r][j] = (a − y)·scale·f'(a),
//   scale = 1/rows.
// Shapes: activations (rows × layer.outputs), labels (n) u32, order (n) u32,
//   deltas (rows × outputs). One invocation per row.
#import line
#import activation
@group(0) @binding(2) var<storage, read> activations: array<f32>;
@group(0) @binding(3) var<storage, read> labels: array<u32>;
@group(0) @binding(4) var<storage, read> order: array<u32>;
@group(0) @binding(5) var<storage, read_write> deltas: array<f32>;

fn items() -> u32 {
    return batch.rows;
}

fn item(r: u32) {
    let label = labels[order[batch.first + r]];
    let base = r * layer.outputs;
    for (var j = 0u; j < layer.outputs; j++) {
        let a = activations[base + j];
        let diff = a - select(0.0, 1.0, j == label);
        deltas[base + j] = diff * batch.scale * activation_derivative(a);
    }
}
