// bias_step: each bias's gradient (a column sum of the error, row by row as the CPU engine
// sums it) and one optimiser step (shaders/lib/optim.wgsl).
//   g = Σ_r deltas[r][o]; step_parameter(bias_index(o), g).
// Shapes: deltas (rows × layer.outputs), parameters (weights outputs × inputs, then biases),
//   moments (2 × parameters). One invocation per output.
#import line
#import column_sum
#import optim
@group(0) @binding(2) var<storage, read> deltas: array<f32>;
@group(0) @binding(3) var<storage, read_write> parameters: array<f32>;
@group(0) @binding(4) var<storage, read_write> moments: array<f32>;

fn items() -> u32 {
    return layer.outputs;
}

fn item(o: u32) {
    step_parameter(bias_index(o), column_sum(o));
}
