// weight_gradient_hidden: split-K partial sums of the weight gradient on f32 activations.
//   partials[s][o][i] = Σ_{r in split s} deltas[r][o]·activations_in[r][i], split s covering
//   rows [s·chunk, min((s+1)·chunk, rows)).
// Shapes: deltas (rows × layer.outputs), activations_in (rows × layer.inputs),
//   partials (splits × outputs × inputs). One invocation: 4 outputs × 4 inputs of one split.
struct Batch { first: u32, rows: u32, index: u32, splits: u32, chunk: u32, scale: f32, pad0: u32, pad1: u32 }
struct Layer { inputs: u32, outputs: u32, lr: f32, words: u32 }

@group(0) @binding(0) var<uniform> batch: Batch;
@group(0) @binding(1) var<uniform> layer: Layer;
@group(0) @binding(2) var<storage, read> deltas: array<f32>;
@group(0) @binding(3) var<storage, read> activations_in: array<f32>;
@group(0) @binding(4) var<storage, read_write> partials: array<f32>;

override WG_X: u32 = 8u;
override WG_Y: u32 = 8u;

@compute @workgroup_size(WG_X, WG_Y)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
    let i0 = id.x * 4u;
    let o0 = id.y * 4u;
    let split = id.z;
    if i0 >= layer.inputs || o0 >= layer.outputs || split >= batch.splits {
        return;
    }
    var outs: array<u32, 4>;
    var ins: array<u32, 4>;
    for (var j = 0u; j < 4u; j++) {
        outs[j] = min(o0 + j, layer.outputs - 1u);
        ins[j] = min(i0 + j, layer.inputs - 1u);
    }
    let first = split * batch.chunk;
    let end = min(first + batch.chunk, batch.rows);
    var acc: array<vec4<f32>, 4>;
    for (var r = first; r < end; r++) {
        let d = r * layer.outputs;
        let a = r * layer.inputs;
        let av = vec4<f32>(activations_in[a + ins[0]], activations_in[a + ins[1]],
                           activations_in[a + ins[2]], activations_in[a + ins[3]]);
        for (var j = 0u; j < 4u; j++) {
            acc[j] += deltas[d + outs[j]] * av;
        }
    }
    let base = split * layer.outputs * layer.inputs;
    for (var j = 0u; j < 4u; j++) {
        let o = o0 + j;
        for (var c = 0u; c < 4u; c++) {
            let i = i0 + c;
            if o < layer.outputs && i < layer.inputs {
                partials[base + o * layer.inputs + i] = acc[j][c];
            }
        }
    }
}
