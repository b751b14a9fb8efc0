// bias_update_vec4: bias_update (see bias_update.wgsl) four biases at a time, for layers whose
// output count is a multiple of 4 (then every row of deltas starts on a vec4 too).
//   biases[o] −= layer.lr · Σ_{r < rows} deltas[r][o].
// Shapes: deltas (rows × layer.outputs), parameters (weights outputs × inputs, then biases
//   outputs: at a multiple of 4 too), both read as vec4. One invocation
// per 4 biases: on lavapipe a vec4 load is one loop over the lanes instead of four.
#import line
@group(0) @binding(2) var<storage, read> deltas: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> parameters: array<vec4<f32>>;

fn items() -> u32 {
    return layer.outputs / 4u;
}

fn item(q: u32) {
    let quads = items();
    var sum = vec4<f32>();
    for (var r = 0u; r < batch.rows; r++) {
        sum += deltas[r * quads + q];
    }
    parameters[bias_index(0u) / 4u + q] -= layer.lr * sum;
}
