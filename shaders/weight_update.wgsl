// weight_update: sums the split-K partials and takes the gradient step.
//   weights[e] −= layer.lr · Σ_{s < splits} partials[s][e], e < outputs·inputs.
// Shapes: partials (splits × outputs × inputs), weights (outputs × inputs). One invocation
// per weight; the grid may be 2-D when it exceeds one dimension's workgroup limit.
#import line
#import split_sum
@group(0) @binding(2) var<storage, read> partials: array<f32>;
@group(0) @binding(3) var<storage, read_write> weights: array<f32>;

fn items() -> u32 {
    return layer.outputs * layer.inputs;
}

fn item(e: u32) {
    weights[e] -= layer.lr * split_sum(e, items());
}
