// weight_gradient_input: split-K partial sums of the first layer's weight gradient, reading
// the packed u8 images through the order buffer (x = pixel / 255).
//   partials[s][o][i] = Σ_{r in split s} deltas[r][o]·x[order[batch.first + r]][i], split s
//   covering rows [s·chunk, min((s+1)·chunk, rows)).
// Shapes: deltas (rows × layer.outputs), images (n × layer.words) u32, order (n) u32,
//   partials (splits × outputs × inputs). One invocation: 4 outputs × the 4 pixels of one word.
struct Batch { first: u32, rows: u32, index: u32, splits: u32, chunk: u32, scale: f32, pad0: u32, pad1: u32 }
struct Layer { inputs: u32, outputs: u32, lr: f32, words: u32 }

@group(0) @binding(0) var<uniform> batch: Batch;
@group(0) @binding(1) var<uniform> layer: Layer;
@group(0) @binding(2) var<storage, read> deltas: array<f32>;
@group(0) @binding(3) var<storage, read> images: array<u32>;
@group(0) @binding(4) var<storage, read> order: array<u32>;
@group(0) @binding(5) var<storage, read_write> partials: array<f32>;

override WG_X: u32 = 8u;
override WG_Y: u32 = 8u;

fn unpack_pixels(word: u32) -> vec4<f32> {
    let bytes = vec4<u32>(word & 0xffu, (word >> 8u) & 0xffu, (word >> 16u) & 0xffu, word >> 24u);
    return vec4<f32>(bytes) / 255.0;
}

@compute @workgroup_size(WG_X, WG_Y)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
    let word = id.x;
    let o0 = id.y * 4u;
    let split = id.z;
    if word >= layer.words || o0 >= layer.outputs || split >= batch.splits {
        return;
    }
    var outs: array<u32, 4>;
    for (var j = 0u; j < 4u; j++) {
        outs[j] = min(o0 + j, layer.outputs - 1u);
    }
    let first = split * batch.chunk;
    let end = min(first + batch.chunk, batch.rows);
    var acc: array<vec4<f32>, 4>;
    for (var r = first; r < end; r++) {
        let x = unpack_pixels(images[order[batch.first + r] * layer.words + word]);
        let d = r * layer.outputs;
        for (var j = 0u; j < 4u; j++) {
            acc[j] += deltas[d + outs[j]] * x;
        }
    }
    let base = split * layer.outputs * layer.inputs;
    let i0 = word * 4u;
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
