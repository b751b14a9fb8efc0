// bias_update: the bias gradient (a column sum of the error) and its step.
//   biases[o] −= layer.lr · Σ_r deltas[r][o].
// Shapes: deltas (rows × layer.outputs), biases (outputs). One invocation per output.
struct Batch { first: u32, rows: u32, index: u32, splits: u32, chunk: u32, scale: f32, pad0: u32, pad1: u32 }
struct Layer { inputs: u32, outputs: u32, lr: f32, words: u32 }

@group(0) @binding(0) var<uniform> batch: Batch;
@group(0) @binding(1) var<uniform> layer: Layer;
@group(0) @binding(2) var<storage, read> deltas: array<f32>;
@group(0) @binding(3) var<storage, read_write> biases: array<f32>;

override WG: u32 = 64u;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let o = id.x + id.y * groups.x * WG;
    if o >= layer.outputs {
        return;
    }
    var sum = 0.0;
    for (var r = 0u; r < batch.rows; r++) {
        sum += deltas[r * layer.outputs + o];
    }
    biases[o] -= layer.lr * sum;
}
