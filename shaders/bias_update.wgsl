// bias_update: the bias gradient (a column sum of the error) and its step.
//   biases[o] −= layer.lr · Σ_r deltas[r][o].
// Shapes: deltas (rows × layer.outputs), parameters (weights outputs × inputs, then biases outputs). One invocation per output.
#import line
#import column_sum
@group(0) @binding(2) var<storage, read> deltas: array<f32>;
@group(0) @binding(3) var<storage, read_write> parameters: array<f32>;

fn items() -> u32 {
    return layer.outputs;
}

fn item(o: u32) {
    parameters[bias_index(o)] -= layer.lr * column_sum(o);
}
