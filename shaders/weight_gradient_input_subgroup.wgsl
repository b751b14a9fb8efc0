// weight_gradient_input_subgroup: weight_gradient_input (see weight_gradient_input.wgsl) for
// adapters with subgroups: split-K partial sums of the first layer's weight gradient.
//   partials[s][o][i] = Σ_{r in split s} deltas[r][o]·x[order[batch.first + r]][i], x = pixel / 255,
//   split s covering rows [s·chunk, min((s+1)·chunk, rows)).
// Shapes: deltas (rows × layer.outputs), images (n × layer.words) u32, order (n) u32,
//   partials (splits × outputs × inputs). One workgroup = one subgroup of 8 lanes covers 16 outputs
//   × 8 words (32 inputs) of one split: lane j owns word w0 + j and loads the deltas of outputs
//   o0 + 8q + j (q < 2), which subgroupBroadcast shares with every lane. Needs a subgroup size
//   of at least 8; the dispatch grid is (⌈words/8⌉, ⌈outputs/16⌉, splits).
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

// Writes sum/255 for output o, inputs i0..i0+3, that exist.
fn store(split: u32, o: u32, i0: u32, sum: vec4<f32>) {
    if o >= layer.outputs {
        return;
    }
    let base = (split * layer.outputs + o) * layer.inputs;
    let scaled = sum / 255.0;
    for (var c = 0u; c < 4u; c++) {
        let i = i0 + c;
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
    let word = group.x * 8u + lane;
    let o0 = group.y * 16u;
    let split = group.z;
    // A lane past the last word or output repeats the last one (clamped loads, skipped stores).
    let own_word = min(word, layer.words - 1u);
    let last_out = layer.outputs - 1u;
    let out0 = min(o0 + 0u + lane, last_out);
    let out1 = min(o0 + 8u + lane, last_out);
    let first = split * batch.chunk;
    let end = min(first + batch.chunk, batch.rows);
    var a0_0 = vec4<f32>();
    var a0_1 = vec4<f32>();
    var a0_2 = vec4<f32>();
    var a0_3 = vec4<f32>();
    var a0_4 = vec4<f32>();
    var a0_5 = vec4<f32>();
    var a0_6 = vec4<f32>();
    var a0_7 = vec4<f32>();
    var a1_0 = vec4<f32>();
    var a1_1 = vec4<f32>();
    var a1_2 = vec4<f32>();
    var a1_3 = vec4<f32>();
    var a1_4 = vec4<f32>();
    var a1_5 = vec4<f32>();
    var a1_6 = vec4<f32>();
    var a1_7 = vec4<f32>();
    for (var r = first; r < end; r++) {
        let x = unpack_bytes(images[order[batch.first + r] * layer.words + own_word]);
        let d = r * layer.outputs;
        let d0 = deltas[d + out0];
        a0_0 += subgroupBroadcast(d0, 0u) * x;
        a0_1 += subgroupBroadcast(d0, 1u) * x;
        a0_2 += subgroupBroadcast(d0, 2u) * x;
        a0_3 += subgroupBroadcast(d0, 3u) * x;
        a0_4 += subgroupBroadcast(d0, 4u) * x;
        a0_5 += subgroupBroadcast(d0, 5u) * x;
        a0_6 += subgroupBroadcast(d0, 6u) * x;
        a0_7 += subgroupBroadcast(d0, 7u) * x;
        let d1 = deltas[d + out1];
        a1_0 += subgroupBroadcast(d1, 0u) * x;
        a1_1 += subgroupBroadcast(d1, 1u) * x;
        a1_2 += subgroupBroadcast(d1, 2u) * x;
        a1_3 += subgroupBroadcast(d1, 3u) * x;
        a1_4 += subgroupBroadcast(d1, 4u) * x;
        a1_5 += subgroupBroadcast(d1, 5u) * x;
        a1_6 += subgroupBroadcast(d1, 6u) * x;
        a1_7 += subgroupBroadcast(d1, 7u) * x;
    }
    if word >= layer.words {
        return;
    }
    store(split, o0 + 0u, word * 4u, a0_0);
    store(split, o0 + 1u, word * 4u, a0_1);
    store(split, o0 + 2u, word * 4u, a0_2);
    store(split, o0 + 3u, word * 4u, a0_3);
    store(split, o0 + 4u, word * 4u, a0_4);
    store(split, o0 + 5u, word * 4u, a0_5);
    store(split, o0 + 6u, word * 4u, a0_6);
    store(split, o0 + 7u, word * 4u, a0_7);
    store(split, o0 + 8u, word * 4u, a1_0);
    store(split, o0 + 9u, word * 4u, a1_1);
    store(split, o0 + 10u, word * 4u, a1_2);
    store(split, o0 + 11u, word * 4u, a1_3);
    store(split, o0 + 12u, word * 4u, a1_4);
    store(split, o0 + 13u, word * 4u, a1_5);
    store(split, o0 + 14u, word * 4u, a1_6);
    store(split, o0 + 15u, word * 4u, a1_7);
}
