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

// Writes σ(acc + bias) for the outputs o0..o0+3 of row r that exist.
fn store(r: u32, o0: u32, acc: vec4<f32>) {
    if r >= batch.rows {
        return;
    }
    for (var c = 0u; c < 4u; c++) {
        let o = o0 + c;
        if o < layer.outputs {
            outputs[r * layer.outputs + o] = 1.0 / (1.0 + exp(-(acc[c] + biases[o])));
        }
    }
}

// The 4×4 block lives in four named vec4 accumulators: indexed arrays would spill to memory.
@compute @workgroup_size(WG_X, WG_Y)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
    let o0 = id.x * 4u;
    let r0 = id.y * 4u;
    if o0 >= layer.outputs || r0 >= batch.rows {
        return;
    }
    // Out-of-range rows and outputs repeat the last one (clamped loads, skipped stores).
    let last_row = batch.rows - 1u;
    let x0 = order[batch.first + r0] * layer.words;
    let x1 = order[batch.first + min(r0 + 1u, last_row)] * layer.words;
    let x2 = order[batch.first + min(r0 + 2u, last_row)] * layer.words;
    let x3 = order[batch.first + min(r0 + 3u, last_row)] * layer.words;
    let last_out = layer.outputs - 1u;
    let w0 = o0 * layer.inputs;
    let w1 = min(o0 + 1u, last_out) * layer.inputs;
    let w2 = min(o0 + 2u, last_out) * layer.inputs;
    let w3 = min(o0 + 3u, last_out) * layer.inputs;
    let last = layer.inputs - 1u;
    var acc0 = vec4<f32>();
    var acc1 = vec4<f32>();
    var acc2 = vec4<f32>();
    var acc3 = vec4<f32>();
    for (var w = 0u; w < layer.words; w++) {
        // Padding pixels past layer.inputs are zero, so a clamped weight index adds nothing.
        let i0 = w * 4u;
        let i1 = min(i0 + 1u, last);
        let i2 = min(i0 + 2u, last);
        let i3 = min(i0 + 3u, last);
        let v0 = vec4<f32>(weights[w0 + i0], weights[w0 + i1], weights[w0 + i2], weights[w0 + i3]);
        let v1 = vec4<f32>(weights[w1 + i0], weights[w1 + i1], weights[w1 + i2], weights[w1 + i3]);
        let v2 = vec4<f32>(weights[w2 + i0], weights[w2 + i1], weights[w2 + i2], weights[w2 + i3]);
        let v3 = vec4<f32>(weights[w3 + i0], weights[w3 + i1], weights[w3 + i2], weights[w3 + i3]);
        let p0 = unpack_pixels(images[x0 + w]);
        let p1 = unpack_pixels(images[x1 + w]);
        let p2 = unpack_pixels(images[x2 + w]);
        let p3 = unpack_pixels(images[x3 + w]);
        acc0 += vec4<f32>(dot(p0, v0), dot(p0, v1), dot(p0, v2), dot(p0, v3));
        acc1 += vec4<f32>(dot(p1, v0), dot(p1, v1), dot(p1, v2), dot(p1, v3));
        acc2 += vec4<f32>(dot(p2, v0), dot(p2, v1), dot(p2, v2), dot(p2, v3));
        acc3 += vec4<f32>(dot(p3, v0), dot(p3, v1), dot(p3, v2), dot(p3, v3));
    }
    store(r0, o0, acc0);
    store(r0 + 1u, o0, acc1);
    store(r0 + 2u, o0, acc2);
    store(r0 + 3u, o0, acc3);
}
