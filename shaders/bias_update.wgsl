// bias_update: the bias gradient (a column sum of the error) and its step.
//   biases[o] −= layer.lr · Σ_r deltas[r][o].
// Shapes: deltas (rows × layer.outputs), parameters (weights outputs × inputs, then biases outputs). One invocation per output.
#import params
@group(0) @binding(2) var<storage, read> deltas: array<f32>;
@group(0) @binding(3) var<storage, read_write> parameters: array<f32>;

override WG: u32 = 64u;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let o = flat_index(id, groups, WG);
    if o >= layer.outputs {
        return;
    }
    var sum = 0.0;
    for (var r = 0u; r < batch.rows; r++) {
        sum += deltas[r * layer.outputs + o];
    }
    parameters[bias_index(o)] -= layer.lr * sum;
}
