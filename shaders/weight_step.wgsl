// weight_step: sums the split-K partials into each weight's gradient and takes one optimiser
// step (shaders/lib/optim.wgsl) with the moments resident beside the parameters.
//   g = Σ_{s < splits} partials[s][e]; step_parameter(e, g), e < outputs·inputs.
// Shapes: partials (splits × outputs × inputs), parameters (weights outputs × inputs, then
//   biases), moments (2 × parameters: first moments, then second). One invocation per weight;
//   the grid may be 2-D when it exceeds one dimension's workgroup limit.
#import line
#import split_sum
#import optim
@group(0) @binding(2) var<storage, read> partials: array<f32>;
@group(0) @binding(3) var<storage, read_write> parameters: array<f32>;
@group(0) @binding(4) var<storage, read_write> moments: array<f32>;

fn items() -> u32 {
    return layer.outputs * layer.inputs;
}

fn item(e: u32) {
    step_parameter(e, split_sum(e, items()));
}
