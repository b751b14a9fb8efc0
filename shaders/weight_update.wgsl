// weight_update: sums the split-K partials and takes the gradient step.
//   weights[e] −= layer.lr · Σ_{s < splits} partials[s][e], e < outputs·inputs.
// Shapes: partials (splits × outputs × inputs), weights (outputs × inputs). One invocation
// per weight; the grid may be 2-D when it exceeds one dimension's workgroup limit.
#import params
@group(0) @binding(2) var<storage, read> partials: array<f32>;
@group(0) @binding(3) var<storage, read_write> weights: array<f32>;

override WG: u32 = 64u;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let e = flat_index(id, groups, WG);
    let count = layer.outputs * layer.inputs;
    if e >= count {
        return;
    }
    var sum = 0.0;
    for (var s = 0u; s < batch.splits; s++) {
        sum += partials[s * count + e];
    }
    weights[e] -= layer.lr * sum;
}
