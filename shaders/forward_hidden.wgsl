// forward_hidden: a later layer on f32 activations.
//   outputs[r][o] = σ(Σ_i inputs[r][i]·weights[o][i] + biases[o]).
// Shapes: inputs (rows × layer.inputs), weights (outputs × inputs), biases (outputs),
//   outputs (rows × outputs). One invocation: a 4 rows × 4 outputs register block.
struct Batch { first: u32, rows: u32, index: u32, splits: u32, chunk: u32, scale: f32, pad0: u32, pad1: u32 }
struct Layer { inputs: u32, outputs: u32, lr: f32, words: u32 }

@group(0) @binding(0) var<uniform> batch: Batch;
@group(0) @binding(1) var<uniform> layer: Layer;
@group(0) @binding(2) var<storage, read> inputs: array<f32>;
@group(0) @binding(3) var<storage, read> weights: array<f32>;
@group(0) @binding(4) var<storage, read> biases: array<f32>;
@group(0) @binding(5) var<storage, read_write> outputs: array<f32>;

override WG_X: u32 = 8u;
override WG_Y: u32 = 8u;

@compute @workgroup_size(WG_X, WG_Y)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
    let o0 = id.x * 4u;
    let r0 = id.y * 4u;
    if o0 >= layer.outputs || r0 >= batch.rows {
        return;
    }
    var input_base: array<u32, 4>;
    var weight_base: array<u32, 4>;
    for (var j = 0u; j < 4u; j++) {
        input_base[j] = min(r0 + j, batch.rows - 1u) * layer.inputs;
        weight_base[j] = min(o0 + j, layer.outputs - 1u) * layer.inputs;
    }
    var acc: array<vec4<f32>, 4>;
    for (var k = 0u; k < layer.inputs; k++) {
        let wv = vec4<f32>(weights[weight_base[0] + k], weights[weight_base[1] + k],
                           weights[weight_base[2] + k], weights[weight_base[3] + k]);
        for (var j = 0u; j < 4u; j++) {
            acc[j] += inputs[input_base[j] + k] * wv;
        }
    }
    for (var j = 0u; j < 4u; j++) {
        let r = r0 + j;
        for (var c = 0u; c < 4u; c++) {
            let o = o0 + c;
            if r < batch.rows && o < layer.outputs {
                outputs[r * layer.outputs + o] = 1.0 / (1.0 + exp(-(acc[j][c] + biases[o])));
            }
        }
    }
}
