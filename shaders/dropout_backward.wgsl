// dropout_backward: a hidden layer's error through its dropout mask (the forward pass's).
//   deltas[e] *= mask(e), e < rows·layer.outputs.
// Shapes: deltas (rows × outputs). One invocation per element.
#import params
#import dropout
@group(0) @binding(2) var<storage, read_write> deltas: array<f32>;

override WG: u32 = 64u;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let e = flat_index(id, groups, WG);
    if e >= batch.rows * layer.outputs {
        return;
    }
    deltas[e] *= dropout_mask(dropout_key(), e);
}
