// bias_step: each bias's gradient (a column sum of the error, row by row as the CPU engine
// sums it) and one optimiser step (shaders/lib/optim.wgsl).
//   g = Σ_r deltas[r][o]; step_parameter(bias_index(o), g).
// Shapes: deltas (rows × layer.outputs), parameters (weights outputs × inputs, then biases),
//   moments (2 × parameters). One invocation per output.
#import params
#import optim
@group(0) @binding(2) var<storage, read> deltas: array<f32>;
@group(0) @binding(3) var<storage, read_write> parameters: array<f32>;
@group(0) @binding(4) var<storage, read_write> moments: array<f32>;

override WG: u32 = 64u;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let o = flat_index(id, groups, WG);
    if o >= layer.outputs {
        return;
    }
    var g = 0.0;
    for (var r = 0u; r < batch.rows; r++) {
        g += deltas[r * layer.outputs + o];
    }
    step_parameter(bias_index(o), g);
}
