// weight_update_vec4: weight_update (see weight_update.wgsl) four weights at a time, for layers
// whose outputs·inputs is a multiple of 4 (then every split's block starts on a vec4 too).
//   weights[e] −= layer.lr · Σ_{s < splits} partials[s][e], e < outputs·inputs.
// Shapes: partials (splits × outputs × inputs), weights (outputs × inputs), both read as vec4.
// One invocation per 4 weights: on lavapipe a vec4 load is one loop over the lanes instead of
// four. The grid may be 2-D when it exceeds one dimension's workgroup limit.
#import line
@group(0) @binding(2) var<storage, read> partials: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> weights: array<vec4<f32>>;

fn items() -> u32 {
    return layer.outputs * layer.inputs / 4u;
}

fn item(q: u32) {
    let quads = items();
    var sum = vec4<f32>();
    for (var s = 0u; s < batch.splits; s++) {
        sum += partials[s * quads + q];
    }
    weights[q] -= layer.lr * sum;
}
