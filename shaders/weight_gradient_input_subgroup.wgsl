// weight_gradient_input_subgroup: weight_gradient_input (see weight_gradient_input.wgsl) for
// adapters with subgroups: split-K partial sums of the first layer's weight gradient.
//   partials[s][o][i] = Σ_{r in split s} deltas[r][o]·x[order[batch.first + r]][i], x = pixel / 255,
//   split s covering rows [s·chunk, min((s+1)·chunk, rows)).
// Shapes: deltas (rows × layer.outputs), images (n × layer.words) u32, order (n) u32,
//   partials (splits × outputs × inputs). One workgroup = one subgroup of 8 lanes covers 16 outputs
//   × 16 words (64 inputs) of one split: lane j owns words w0 + 8v + j (v < 2) and loads the
//   deltas of outputs o0 + 8q + j (q < 2), which subgroupBroadcast shares with every lane. Needs a
//   subgroup size of at least 8; the dispatch grid is (⌈words/16⌉, ⌈outputs/16⌉, splits).
struct Batch { first: u32, rows: u32, index: u32, splits: u32, chunk: u32, scale: f32, pad0: u32, pad1: u32 }
struct Layer { inputs: u32, outputs: u32, lr: f32, words: u32 }
@group(0) @binding(0) var<uniform> batch: Batch;
@group(0) @binding(1) var<uniform> layer: Layer;
@group(0) @binding(2) var<storage, read> deltas: array<f32>;
@group(0) @binding(3) var<storage, read> images: array<u32>;
@group(0) @binding(4) var<storage, read> order: array<u32>;
@group(0) @binding(5) var<storage, read_write> partials: array<f32>;

// Bytes of a packed word as floats 0..255 (the 1/255 is applied once, to the sums).
fn unpack_bytes(word: u32) -> vec4<f32> {
    return vec4<f32>(vec4<u32>(word & 0xffu, (word >> 8u) & 0xffu, (word >> 16u) & 0xffu, word >> 24u));
}

// Writes sum/255 for output o, inputs 4·word..4·word+3, that exist.
fn store(split: u32, o: u32, word: u32, sum: vec4<f32>) {
    if o >= layer.outputs || word >= layer.words {
        return;
    }
    let base = (split * layer.outputs + o) * layer.inputs;
    let scaled = sum / 255.0;
    for (var c = 0u; c < 4u; c++) {
        let i = word * 4u + c;
        if i < layer.inputs {
            partials[base + i] = scaled[c];
        }
    }
}

// On lavapipe every buffer load is a scalar loop over the lanes while a broadcast is a register
// shuffle, so each lane loads only its share and the accumulators are named vec4s (indexed
// arrays would spill to memory).
@compute @workgroup_size(8)
fn main(@builtin(workgroup_id) group: vec3<u32>, @builtin(subgroup_invocation_id) lane: u32) {
    let w0 = group.x * 16u + lane;
    let o0 = group.y * 16u;
    let split = group.z;
    // A lane past the last word or output repeats the last one (clamped loads, skipped stores).
    let last_word = layer.words - 1u;
    let last_out = layer.outputs - 1u;
    let word0 = min(w0 + 0u, last_word);
    let word1 = min(w0 + 8u, last_word);
    let out0 = min(o0 + 0u + lane, last_out);
    let out1 = min(o0 + 8u + lane, last_out);
    let first = split * batch.chunk;
    let end = min(first + batch.chunk, batch.rows);
    var a0_0_0 = vec4<f32>();
    var a0_0_1 = vec4<f32>();
    var a0_0_2 = vec4<f32>();
    var a0_0_3 = vec4<f32>();
    var a0_0_4 = vec4<f32>();
    var a0_0_5 = vec4<f32>();
    var a0_0_6 = vec4<f32>();
    var a0_0_7 = vec4<f32>();
    var a0_1_0 = vec4<f32>();
    var a0_1_1 = vec4<f32>();
    var a0_1_2 = vec4<f32>();
    var a0_1_3 = vec4<f32>();
    var a0_1_4 = vec4<f32>();
    var a0_1_5 = vec4<f32>();
    var a0_1_6 = vec4<f32>();
    var a0_1_7 = vec4<f32>();
    var a1_0_0 = vec4<f32>();
    var a1_0_1 = vec4<f32>();
    var a1_0_2 = vec4<f32>();
    var a1_0_3 = vec4<f32>();
    var a1_0_4 = vec4<f32>();
    var a1_0_5 = vec4<f32>();
    var a1_0_6 = vec4<f32>();
    var a1_0_7 = vec4<f32>();
    var a1_1_0 = vec4<f32>();
    var a1_1_1 = vec4<f32>();
    var a1_1_2 = vec4<f32>();
    var a1_1_3 = vec4<f32>();
    var a1_1_4 = vec4<f32>();
    var a1_1_5 = vec4<f32>();
    var a1_1_6 = vec4<f32>();
    var a1_1_7 = vec4<f32>();
    for (var r = first; r < end; r++) {
        let image = order[batch.first + r] * layer.words;
        let d = r * layer.outputs;
        let x0 = unpack_bytes(images[image + word0]);
        let x1 = unpack_bytes(images[image + word1]);
        let d0 = deltas[d + out0];
        let b0_0 = subgroupBroadcast(d0, 0u);
        a0_0_0 += b0_0 * x0;
        a1_0_0 += b0_0 * x1;
        let b0_1 = subgroupBroadcast(d0, 1u);
        a0_0_1 += b0_1 * x0;
        a1_0_1 += b0_1 * x1;
        let b0_2 = subgroupBroadcast(d0, 2u);
        a0_0_2 += b0_2 * x0;
        a1_0_2 += b0_2 * x1;
        let b0_3 = subgroupBroadcast(d0, 3u);
        a0_0_3 += b0_3 * x0;
        a1_0_3 += b0_3 * x1;
        let b0_4 = subgroupBroadcast(d0, 4u);
        a0_0_4 += b0_4 * x0;
        a1_0_4 += b0_4 * x1;
        let b0_5 = subgroupBroadcast(d0, 5u);
        a0_0_5 += b0_5 * x0;
        a1_0_5 += b0_5 * x1;
        let b0_6 = subgroupBroadcast(d0, 6u);
        a0_0_6 += b0_6 * x0;
        a1_0_6 += b0_6 * x1;
        let b0_7 = subgroupBroadcast(d0, 7u);
        a0_0_7 += b0_7 * x0;
        a1_0_7 += b0_7 * x1;
        let d1 = deltas[d + out1];
        let b1_0 = subgroupBroadcast(d1, 0u);
        a0_1_0 += b1_0 * x0;
        a1_1_0 += b1_0 * x1;
        let b1_1 = subgroupBroadcast(d1, 1u);
        a0_1_1 += b1_1 * x0;
        a1_1_1 += b1_1 * x1;
        let b1_2 = subgroupBroadcast(d1, 2u);
        a0_1_2 += b1_2 * x0;
        a1_1_2 += b1_2 * x1;
        let b1_3 = subgroupBroadcast(d1, 3u);
        a0_1_3 += b1_3 * x0;
        a1_1_3 += b1_3 * x1;
        let b1_4 = subgroupBroadcast(d1, 4u);
        a0_1_4 += b1_4 * x0;
        a1_1_4 += b1_4 * x1;
        let b1_5 = subgroupBroadcast(d1, 5u);
        a0_1_5 += b1_5 * x0;
        a1_1_5 += b1_5 * x1;
        let b1_6 = subgroupBroadcast(d1, 6u);
        a0_1_6 += b1_6 * x0;
        a1_1_6 += b1_6 * x1;
        let b1_7 = subgroupBroadcast(d1, 7u);
        a0_1_7 += b1_7 * x0;
        a1_1_7 += b1_7 * x1;
    }
    store(split, o0 + 0u, w0 + 0u, a0_0_0);
    store(split, o0 + 1u, w0 + 0u, a0_0_1);
    store(split, o0 + 2u, w0 + 0u, a0_0_2);
    store(split, o0 + 3u, w0 + 0u, a0_0_3);
    store(split, o0 + 4u, w0 + 0u, a0_0_4);
    store(split, o0 + 5u, w0 + 0u, a0_0_5);
    store(split, o0 + 6u, w0 + 0u, a0_0_6);
    store(split, o0 + 7u, w0 + 0u, a0_0_7);
    store(split, o0 + 8u, w0 + 0u, a0_1_0);
    store(split, o0 + 9u, w0 + 0u, a0_1_1);
    store(split, o0 + 10u, w0 + 0u, a0_1_2);
    store(split, o0 + 11u, w0 + 0u, a0_1_3);
    store(split, o0 + 12u, w0 + 0u, a0_1_4);
    store(split, o0 + 13u, w0 + 0u, a0_1_5);
    store(split, o0 + 14u, w0 + 0u, a0_1_6);
    store(split, o0 + 15u, w0 + 0u, a0_1_7);
    store(split, o0 + 0u, w0 + 8u, a1_0_0);
    store(split, o0 + 1u, w0 + 8u, a1_0_1);
    store(split, o0 + 2u, w0 + 8u, a1_0_2);
    store(split, o0 + 3u, w0 + 8u, a1_0_3);
    store(split, o0 + 4u, w0 + 8u, a1_0_4);
    store(split, o0 + 5u, w0 + 8u, a1_0_5);
    store(split, o0 + 6u, w0 + 8u, a1_0_6);
    store(split, o0 + 7u, w0 + 8u, a1_0_7);
    store(split, o0 + 8u, w0 + 8u, a1_1_0);
    store(split, o0 + 9u, w0 + 8u, a1_1_1);
    store(split, o0 + 10u, w0 + 8u, a1_1_2);
    store(split, o0 + 11u, w0 + 8u, a1_1_3);
    store(split, o0 + 12u, w0 + 8u, a1_1_4);
    store(split, o0 + 13u, w0 + 8u, a1_1_5);
    store(split, o0 + 14u, w0 + 8u, a1_1_6);
    store(split, o0 + 15u, w0 + 8u, a1_1_7);
}
