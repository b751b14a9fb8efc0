// output_error_xent: the error of a softmax output layer under the cross-entropy cost.
//   y = one-hot of labels[order[batch.first + r]]; deltas[r][j] = (p − y)·scale, scale = 1/rows.
// Shapes: activations (rows × layer.outputs, probabilities), labels (n) u32, order (n) u32,
//   deltas (rows × outputs). One invocation per row.
#import params
@group(0) @binding(2) var<storage, read> activations: array<f32>;
@group(0) @binding(3) var<storage, read> labels: array<u32>;
@group(0) @binding(4) var<storage, read> order: array<u32>;
@group(0) @binding(5) var<storage, read_write> deltas: array<f32>;

override WG: u32 = 64u;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let r = flat_index(id, groups, WG);
    if r >= batch.rows {
        return;
    }
    let label = labels[order[batch.first + r]];
    let base = r * layer.outputs;
    for (var j = 0u; j < layer.outputs; j++) {
        let diff = activations[base + j] - select(0.0, 1.0, j == label);
        deltas[base + j] = diff * batch.scale;
    }
}
