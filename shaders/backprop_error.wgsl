// backprop_error: the error of the layer below, with the sigmoid derivative fused.
//   deltas_in[r][i] = (Σ_o deltas[r][o]·weights[o][i]) · a[r][i](1 − a[r][i]),
//   a = the layer's input activations.
// Shapes: deltas (rows × layer.outputs), weights (outputs × inputs), activations_in
//   (rows × inputs), deltas_in (rows × inputs). One invocation: 4 rows × 4 inputs.
struct Batch { first: u32, rows: u32, index: u32, splits: u32, chunk: u32, scale: f32, pad0: u32, pad1: u32 }
struct Layer { inputs: u32, outputs: u32, lr: f32, words: u32 }

@group(0) @binding(0) var<uniform> batch: Batch;
@group(0) @binding(1) var<uniform> layer: Layer;
@group(0) @binding(2) var<storage, read> deltas: array<f32>;
@group(0) @binding(3) var<storage, read> weights: array<f32>;
@group(0) @binding(4) var<storage, read> activations_in: array<f32>;
@group(0) @binding(5) var<storage, read_write> deltas_in: array<f32>;

override WG_X: u32 = 8u;
override WG_Y: u32 = 8u;

@compute @workgroup_size(WG_X, WG_Y)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
    let i0 = id.x * 4u;
    let r0 = id.y * 4u;
    if i0 >= layer.inputs || r0 >= batch.rows {
        return;
    }
    var delta_base: array<u32, 4>;
    var columns: array<u32, 4>;
    for (var j = 0u; j < 4u; j++) {
        delta_base[j] = min(r0 + j, batch.rows - 1u) * layer.outputs;
        columns[j] = min(i0 + j, layer.inputs - 1u);
    }
    var acc: array<vec4<f32>, 4>;
    for (var o = 0u; o < layer.outputs; o++) {
        let row = o * layer.inputs;
        let wv = vec4<f32>(weights[row + columns[0]], weights[row + columns[1]],
                           weights[row + columns[2]], weights[row + columns[3]]);
        for (var j = 0u; j < 4u; j++) {
            acc[j] += deltas[delta_base[j] + o] * wv;
        }
    }
    for (var j = 0u; j < 4u; j++) {
        let r = r0 + j;
        for (var c = 0u; c < 4u; c++) {
            let i = i0 + c;
            if r < batch.rows && i < layer.inputs {
                let a = activations_in[r * layer.inputs + i];
                deltas_in[r * layer.inputs + i] = acc[j][c] * (a * (1.0 - a));
            }
        }
    }
}
