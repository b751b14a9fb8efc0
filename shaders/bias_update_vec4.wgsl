// bias_update_vec4: bias_update (see bias_update.wgsl) four biases at a time, for layers whose
// output count is a multiple of 4 (then every row of deltas starts on a vec4 too).
//   biases[o] −= layer.lr · Σ_{r < rows} deltas[r][o].
// Shapes: deltas (rows × layer.outputs), parameters (weights outputs × inputs, then biases
//   outputs: at a multiple of 4 too), both read as vec4. One invocation
// per 4 biases: on lavapipe a vec4 load is one loop over the lanes instead of four.
#import params
@group(0) @binding(2) var<storage, read> deltas: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> parameters: array<vec4<f32>>;

override WG: u32 = 64u;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let q = flat_index(id, groups, WG);
    let quads = layer.outputs / 4u;
    if q >= quads {
        return;
    }
    var sum = vec4<f32>();
    for (var r = 0u; r < batch.rows; r++) {
        sum += deltas[r * quads + q];
    }
    parameters[bias_index(0u) / 4u + q] -= layer.lr * sum;
}
