// forward_input: the first layer on packed u8 images, gathered through the order buffer.
//   x[r] = image order[batch.first + r] (layer.words u32 words, 4 pixels each, byte 0 first),
//   pixel value / 255; outputs[r][o] = σ(Σ_i x[r][i]·weights[o][i] + biases[o]).
// Shapes: images (n × words) u32, order (n) u32, weights (outputs × inputs), biases (outputs),
//   outputs (rows × outputs). One invocation: a 4 rows × 4 outputs register block.
struct Batch { first: u32, rows: u32, index: u32, splits: u32, chunk: u32, scale: f32, pad0: u32, pad1: u32 }
struct Layer { inputs: u32, outputs: u32, lr: f32, words: u32 }

@group(0) @binding(0) var<uniform> batch: Batch;
@group(0) @binding(1) var<uniform> layer: Layer;
@group(0) @binding(2) var<storage, read> images: array<u32>;
@group(0) @binding(3) var<storage, read> order: array<u32>;
@group(0) @binding(4) var<storage, read> weights: array<f32>;
@group(0) @binding(5) var<storage, read> biases: array<f32>;
@group(0) @binding(6) var<storage, read_write> outputs: array<f32>;

override WG_X: u32 = 8u;
override WG_Y: u32 = 8u;

fn unpack_pixels(word: u32) -> vec4<f32> {
    let bytes = vec4<u32>(word & 0xffu, (word >> 8u) & 0xffu, (word >> 16u) & 0xffu, word >> 24u);
    return vec4<f32>(bytes) / 255.0;
}

@compute @workgroup_size(WG_X, WG_Y)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
    let o0 = id.x * 4u;
    let r0 = id.y * 4u;
    if o0 >= layer.outputs || r0 >= batch.rows {
        return;
    }
    // Out-of-range rows and outputs repeat the last one (clamped loads, skipped stores).
    var image_base: array<u32, 4>;
    var weight_base: array<u32, 4>;
    for (var j = 0u; j < 4u; j++) {
        image_base[j] = order[batch.first + min(r0 + j, batch.rows - 1u)] * layer.words;
        weight_base[j] = min(o0 + j, layer.outputs - 1u) * layer.inputs;
    }
    let last = layer.inputs - 1u;
    var acc: array<vec4<f32>, 4>;
    for (var w = 0u; w < layer.words; w++) {
        // Padding pixels past layer.inputs are zero, so a clamped weight index adds nothing.
        let i = w * 4u;
        var wv: array<vec4<f32>, 4>;
        for (var c = 0u; c < 4u; c++) {
            let b = weight_base[c];
            wv[c] = vec4<f32>(weights[b + min(i, last)], weights[b + min(i + 1u, last)],
                              weights[b + min(i + 2u, last)], weights[b + min(i + 3u, last)]);
        }
        for (var j = 0u; j < 4u; j++) {
            let x = unpack_pixels(images[image_base[j] + w]);
            acc[j] += vec4<f32>(dot(x, wv[0]), dot(x, wv[1]), dot(x, wv[2]), dot(x, wv[3]));
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
