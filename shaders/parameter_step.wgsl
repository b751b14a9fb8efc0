// parameter_step: one optimiser step (shaders/lib/optim.wgsl) of every parameter of a layer, in
// one dispatch: a weight's gradient sums the split-K partials, a bias's is a column sum of the
// error (row by row, as the CPU engine sums it); the moments stay resident beside them.
//   e < outputs·inputs: g = Σ_{s < splits} partials[s][e]
//   e = bias_index(o):  g = Σ_r deltas[r][o]
//   step_parameter(e, g).
// Shapes: partials (splits × outputs × inputs), deltas (rows × outputs), parameters (weights
//   outputs × inputs, then biases), moments (2 × parameters: first moments, then second). One
//   invocation per parameter; the grid may be 2-D when it exceeds one dimension's limit.
#import line
#import split_sum
#import column_sum
#import optim
@group(0) @binding(2) var<storage, read> partials: array<f32>;
@group(0) @binding(3) var<storage, read> deltas: array<f32>;
@group(0) @binding(4) var<storage, read_write> parameters: array<f32>;
@group(0) @binding(5) var<storage, read_write> moments: array<f32>;

fn items() -> u32 {
    return (layer.inputs + 1u) * layer.outputs;
}

fn item(e: u32) {
    let weights = layer.outputs * layer.inputs;
    if e < weights {
        step_parameter(e, split_sum(e, weights));
    } else {
        step_parameter(e, column_sum(e - weights));
    }
}
