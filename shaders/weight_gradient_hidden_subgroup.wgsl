// weight_gradient_hidden_subgroup: weight_gradient_hidden (see weight_gradient_hidden.wgsl) for
// adapters with subgroups: split-K partial sums of the weight gradient on f32 activations.
//   partials[s][o][i] = Σ_{r in split s} deltas[r][o]·activations_in[r][i], split s covering
//   rows [s·chunk, min((s+1)·chunk, rows)).
// Shapes: deltas (rows × layer.outputs), activations_in (rows × layer.inputs),
//   partials (splits × outputs × inputs). One workgroup = one subgroup of 8 lanes covers 16 outputs
//   × 32 inputs of one split: lane j owns inputs i0 + 8v + j (v < 4) and loads the deltas of
//   outputs o0 + 8q + j (q < 2), which subgroupBroadcast shares with every lane. Needs a subgroup
//   size of at least 8; the dispatch grid is (⌈inputs/32⌉, ⌈outputs/16⌉, splits).
struct Batch { first: u32, rows: u32, index: u32, splits: u32, chunk: u32, scale: f32, pad0: u32, pad1: u32 }
struct Layer { inputs: u32, outputs: u32, lr: f32, words: u32 }
@group(0) @binding(0) var<uniform> batch: Batch;
@group(0) @binding(1) var<uniform> layer: Layer;
@group(0) @binding(2) var<storage, read> deltas: array<f32>;
@group(0) @binding(3) var<storage, read> activations_in: array<f32>;
@group(0) @binding(4) var<storage, read_write> partials: array<f32>;

// Writes the partial sum of output o, input i, when both exist.
fn store(split: u32, o: u32, i: u32, sum: f32) {
    if o < layer.outputs && i < layer.inputs {
        partials[(split * layer.outputs + o) * layer.inputs + i] = sum;
    }
}

// On lavapipe every buffer load is a scalar loop over the lanes while a broadcast is a register
// shuffle, so each lane loads only its share and the accumulators are named scalars (indexed
// arrays would spill to memory).
@compute @workgroup_size(8)
fn main(@builtin(workgroup_id) group: vec3<u32>, @builtin(subgroup_invocation_id) lane: u32) {
    let i0 = group.x * 32u;
    let o0 = group.y * 16u;
    let split = group.z;
    // A lane past the last input or output repeats the last one (clamped loads, skipped stores).
    let last_in = layer.inputs - 1u;
    let last_out = layer.outputs - 1u;
    let in0 = min(i0 + 0u + lane, last_in);
    let in1 = min(i0 + 8u + lane, last_in);
    let in2 = min(i0 + 16u + lane, last_in);
    let in3 = min(i0 + 24u + lane, last_in);
    let out0 = min(o0 + 0u + lane, last_out);
    let out1 = min(o0 + 8u + lane, last_out);
    let first = split * batch.chunk;
    let end = min(first + batch.chunk, batch.rows);
    var a0_0_0 = 0.0;
    var a0_0_1 = 0.0;
    var a0_0_2 = 0.0;
    var a0_0_3 = 0.0;
    var a0_0_4 = 0.0;
    var a0_0_5 = 0.0;
    var a0_0_6 = 0.0;
    var a0_0_7 = 0.0;
    var a0_1_0 = 0.0;
    var a0_1_1 = 0.0;
    var a0_1_2 = 0.0;
    var a0_1_3 = 0.0;
    var a0_1_4 = 0.0;
    var a0_1_5 = 0.0;
    var a0_1_6 = 0.0;
    var a0_1_7 = 0.0;
    var a1_0_0 = 0.0;
    var a1_0_1 = 0.0;
    var a1_0_2 = 0.0;
    var a1_0_3 = 0.0;
    var a1_0_4 = 0.0;
    var a1_0_5 = 0.0;
    var a1_0_6 = 0.0;
    var a1_0_7 = 0.0;
    var a1_1_0 = 0.0;
    var a1_1_1 = 0.0;
    var a1_1_2 = 0.0;
    var a1_1_3 = 0.0;
    var a1_1_4 = 0.0;
    var a1_1_5 = 0.0;
    var a1_1_6 = 0.0;
    var a1_1_7 = 0.0;
    var a2_0_0 = 0.0;
    var a2_0_1 = 0.0;
    var a2_0_2 = 0.0;
    var a2_0_3 = 0.0;
    var a2_0_4 = 0.0;
    var a2_0_5 = 0.0;
    var a2_0_6 = 0.0;
    var a2_0_7 = 0.0;
    var a2_1_0 = 0.0;
    var a2_1_1 = 0.0;
    var a2_1_2 = 0.0;
    var a2_1_3 = 0.0;
    var a2_1_4 = 0.0;
    var a2_1_5 = 0.0;
    var a2_1_6 = 0.0;
    var a2_1_7 = 0.0;
    var a3_0_0 = 0.0;
    var a3_0_1 = 0.0;
    var a3_0_2 = 0.0;
    var a3_0_3 = 0.0;
    var a3_0_4 = 0.0;
    var a3_0_5 = 0.0;
    var a3_0_6 = 0.0;
    var a3_0_7 = 0.0;
    var a3_1_0 = 0.0;
    var a3_1_1 = 0.0;
    var a3_1_2 = 0.0;
    var a3_1_3 = 0.0;
    var a3_1_4 = 0.0;
    var a3_1_5 = 0.0;
    var a3_1_6 = 0.0;
    var a3_1_7 = 0.0;
    for (var r = first; r < end; r++) {
        let a = r * layer.inputs;
        let d = r * layer.outputs;
        let x0 = activations_in[a + in0];
        let x1 = activations_in[a + in1];
        let x2 = activations_in[a + in2];
        let x3 = activations_in[a + in3];
        let d0 = deltas[d + out0];
        let b0_0 = subgroupBroadcast(d0, 0u);
        a0_0_0 += b0_0 * x0;
        a1_0_0 += b0_0 * x1;
        a2_0_0 += b0_0 * x2;
        a3_0_0 += b0_0 * x3;
        let b0_1 = subgroupBroadcast(d0, 1u);
        a0_0_1 += b0_1 * x0;
        a1_0_1 += b0_1 * x1;
        a2_0_1 += b0_1 * x2;
        a3_0_1 += b0_1 * x3;
        let b0_2 = subgroupBroadcast(d0, 2u);
        a0_0_2 += b0_2 * x0;
        a1_0_2 += b0_2 * x1;
        a2_0_2 += b0_2 * x2;
        a3_0_2 += b0_2 * x3;
        let b0_3 = subgroupBroadcast(d0, 3u);
        a0_0_3 += b0_3 * x0;
        a1_0_3 += b0_3 * x1;
        a2_0_3 += b0_3 * x2;
        a3_0_3 += b0_3 * x3;
        let b0_4 = subgroupBroadcast(d0, 4u);
        a0_0_4 += b0_4 * x0;
        a1_0_4 += b0_4 * x1;
        a2_0_4 += b0_4 * x2;
        a3_0_4 += b0_4 * x3;
        let b0_5 = subgroupBroadcast(d0, 5u);
        a0_0_5 += b0_5 * x0;
        a1_0_5 += b0_5 * x1;
        a2_0_5 += b0_5 * x2;
        a3_0_5 += b0_5 * x3;
        let b0_6 = subgroupBroadcast(d0, 6u);
        a0_0_6 += b0_6 * x0;
        a1_0_6 += b0_6 * x1;
        a2_0_6 += b0_6 * x2;
        a3_0_6 += b0_6 * x3;
        let b0_7 = subgroupBroadcast(d0, 7u);
        a0_0_7 += b0_7 * x0;
        a1_0_7 += b0_7 * x1;
        a2_0_7 += b0_7 * x2;
        a3_0_7 += b0_7 * x3;
        let d1 = deltas[d + out1];
        let b1_0 = subgroupBroadcast(d1, 0u);
        a0_1_0 += b1_0 * x0;
        a1_1_0 += b1_0 * x1;
        a2_1_0 += b1_0 * x2;
        a3_1_0 += b1_0 * x3;
        let b1_1 = subgroupBroadcast(d1, 1u);
        a0_1_1 += b1_1 * x0;
        a1_1_1 += b1_1 * x1;
        a2_1_1 += b1_1 * x2;
        a3_1_1 += b1_1 * x3;
        let b1_2 = subgroupBroadcast(d1, 2u);
        a0_1_2 += b1_2 * x0;
        a1_1_2 += b1_2 * x1;
        a2_1_2 += b1_2 * x2;
        a3_1_2 += b1_2 * x3;
        let b1_3 = subgroupBroadcast(d1, 3u);
        a0_1_3 += b1_3 * x0;
        a1_1_3 += b1_3 * x1;
        a2_1_3 += b1_3 * x2;
        a3_1_3 += b1_3 * x3;
        let b1_4 = subgroupBroadcast(d1, 4u);
        a0_1_4 += b1_4 * x0;
        a1_1_4 += b1_4 * x1;
        a2_1_4 += b1_4 * x2;
        a3_1_4 += b1_4 * x3;
        let b1_5 = subgroupBroadcast(d1, 5u);
        a0_1_5 += b1_5 * x0;
        a1_1_5 += b1_5 * x1;
        a2_1_5 += b1_5 * x2;
        a3_1_5 += b1_5 * x3;
        let b1_6 = subgroupBroadcast(d1, 6u);
        a0_1_6 += b1_6 * x0;
        a1_1_6 += b1_6 * x1;
        a2_1_6 += b1_6 * x2;
        a3_1_6 += b1_6 * x3;
        let b1_7 = subgroupBroadcast(d1, 7u);
        a0_1_7 += b1_7 * x0;
        a1_1_7 += b1_7 * x1;
        a2_1_7 += b1_7 * x2;
        a3_1_7 += b1_7 * x3;
    }
    store(split, o0 + 0u, i0 + 0u + lane, a0_0_0);
    store(split, o0 + 1u, i0 + 0u + lane, a0_0_1);
    store(split, o0 + 2u, i0 + 0u + lane, a0_0_2);
    store(split, o0 + 3u, i0 + 0u + lane, a0_0_3);
    store(split, o0 + 4u, i0 + 0u + lane, a0_0_4);
    store(split, o0 + 5u, i0 + 0u + lane, a0_0_5);
    store(split, o0 + 6u, i0 + 0u + lane, a0_0_6);
    store(split, o0 + 7u, i0 + 0u + lane, a0_0_7);
    store(split, o0 + 8u, i0 + 0u + lane, a0_1_0);
    store(split, o0 + 9u, i0 + 0u + lane, a0_1_1);
    store(split, o0 + 10u, i0 + 0u + lane, a0_1_2);
    store(split, o0 + 11u, i0 + 0u + lane, a0_1_3);
    store(split, o0 + 12u, i0 + 0u + lane, a0_1_4);
    store(split, o0 + 13u, i0 + 0u + lane, a0_1_5);
    store(split, o0 + 14u, i0 + 0u + lane, a0_1_6);
    store(split, o0 + 15u, i0 + 0u + lane, a0_1_7);
    store(split, o0 + 0u, i0 + 8u + lane, a1_0_0);
    store(split, o0 + 1u, i0 + 8u + lane, a1_0_1);
    store(split, o0 + 2u, i0 + 8u + lane, a1_0_2);
    store(split, o0 + 3u, i0 + 8u + lane, a1_0_3);
    store(split, o0 + 4u, i0 + 8u + lane, a1_0_4);
    store(split, o0 + 5u, i0 + 8u + lane, a1_0_5);
    store(split, o0 + 6u, i0 + 8u + lane, a1_0_6);
    store(split, o0 + 7u, i0 + 8u + lane, a1_0_7);
    store(split, o0 + 8u, i0 + 8u + lane, a1_1_0);
    store(split, o0 + 9u, i0 + 8u + lane, a1_1_1);
    store(split, o0 + 10u, i0 + 8u + lane, a1_1_2);
    store(split, o0 + 11u, i0 + 8u + lane, a1_1_3);
    store(split, o0 + 12u, i0 + 8u + lane, a1_1_4);
    store(split, o0 + 13u, i0 + 8u + lane, a1_1_5);
    store(split, o0 + 14u, i0 + 8u + lane, a1_1_6);
    store(split, o0 + 15u, i0 + 8u + lane, a1_1_7);
    store(split, o0 + 0u, i0 + 16u + lane, a2_0_0);
    store(split, o0 + 1u, i0 + 16u + lane, a2_0_1);
    store(split, o0 + 2u, i0 + 16u + lane, a2_0_2);
    store(split, o0 + 3u, i0 + 16u + lane, a2_0_3);
    store(split, o0 + 4u, i0 + 16u + lane, a2_0_4);
    store(split, o0 + 5u, i0 + 16u + lane, a2_0_5);
    store(split, o0 + 6u, i0 + 16u + lane, a2_0_6);
    store(split, o0 + 7u, i0 + 16u + lane, a2_0_7);
    store(split, o0 + 8u, i0 + 16u + lane, a2_1_0);
    store(split, o0 + 9u, i0 + 16u + lane, a2_1_1);
    store(split, o0 + 10u, i0 + 16u + lane, a2_1_2);
    store(split, o0 + 11u, i0 + 16u + lane, a2_1_3);
    store(split, o0 + 12u, i0 + 16u + lane, a2_1_4);
    store(split, o0 + 13u, i0 + 16u + lane, a2_1_5);
    store(split, o0 + 14u, i0 + 16u + lane, a2_1_6);
    store(split, o0 + 15u, i0 + 16u + lane, a2_1_7);
    store(split, o0 + 0u, i0 + 24u + lane, a3_0_0);
    store(split, o0 + 1u, i0 + 24u + lane, a3_0_1);
    store(split, o0 + 2u, i0 + 24u + lane, a3_0_2);
    store(split, o0 + 3u, i0 + 24u + lane, a3_0_3);
    store(split, o0 + 4u, i0 + 24u + lane, a3_0_4);
    store(split, o0 + 5u, i0 + 24u + lane, a3_0_5);
    store(split, o0 + 6u, i0 + 24u + lane, a3_0_6);
    store(split, o0 + 7u, i0 + 24u + lane, a3_0_7);
    store(split, o0 + 8u, i0 + 24u + lane, a3_1_0);
    store(split, o0 + 9u, i0 + 24u + lane, a3_1_1);
    store(split, o0 + 10u, i0 + 24u + lane, a3_1_2);
    store(split, o0 + 11u, i0 + 24u + lane, a3_1_3);
    store(split, o0 + 12u, i0 + 24u + lane, a3_1_4);
    store(split, o0 + 13u, i0 + 24u + lane, a3_1_5);
    store(split, o0 + 14u, i0 + 24u + lane, a3_1_6);
    store(split, o0 + 15u, i0 + 24u + lane, a3_1_7);
}
