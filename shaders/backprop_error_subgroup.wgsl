// backprop_error_subgroup: backprop_error (see backprop_error.wgsl) for adapters with subgroups.
//   deltas_in[r][i] = (Σ_o deltas[r][o]·weights[o][i]) · a[r][i](1 − a[r][i]),
//   a = the layer's input activations.
// Shapes: deltas (rows × layer.outputs), weights (outputs × inputs), activations_in
//   (rows × inputs), deltas_in (rows × inputs). One workgroup = one subgroup of 8 lanes covers
//   32 rows × 16 inputs: lane j owns rows r0 + 8m + j (m < 4) and loads the weights of inputs
//   i0 + 8q + j (q < 2), which subgroupBroadcast shares with every lane. Needs a subgroup size of
//   at least 8; the dispatch grid is (⌈inputs/16⌉, ⌈rows/32⌉, 1).
struct Batch { first: u32, rows: u32, index: u32, splits: u32, chunk: u32, scale: f32, pad0: u32, pad1: u32 }
struct Layer { inputs: u32, outputs: u32, lr: f32, words: u32 }
@group(0) @binding(0) var<uniform> batch: Batch;
@group(0) @binding(1) var<uniform> layer: Layer;
@group(0) @binding(2) var<storage, read> deltas: array<f32>;
@group(0) @binding(3) var<storage, read> weights: array<f32>;
@group(0) @binding(4) var<storage, read> activations_in: array<f32>;
@group(0) @binding(5) var<storage, read_write> deltas_in: array<f32>;

// Writes sum · a(1 − a) for row r, input i, when both exist.
fn store(r: u32, i: u32, sum: f32) {
    if r < batch.rows && i < layer.inputs {
        let a = activations_in[r * layer.inputs + i];
        deltas_in[r * layer.inputs + i] = sum * (a * (1.0 - a));
    }
}

// On lavapipe every buffer load is a scalar loop over the lanes while a broadcast is a register
// shuffle, so each lane loads only its share and the accumulators are named scalars (indexed
// arrays would spill to memory).
@compute @workgroup_size(8)
fn main(@builtin(workgroup_id) group: vec3<u32>, @builtin(subgroup_invocation_id) lane: u32) {
    let c0 = group.x * 16u;
    let r0 = group.y * 32u;
    // Out-of-range rows and columns repeat the last one (clamped loads, skipped stores).
    let last_row = batch.rows - 1u;
    let last_col = layer.inputs - 1u;
    let x0 = min(r0 + 0u + lane, last_row) * layer.outputs;
    let x1 = min(r0 + 8u + lane, last_row) * layer.outputs;
    let x2 = min(r0 + 16u + lane, last_row) * layer.outputs;
    let x3 = min(r0 + 24u + lane, last_row) * layer.outputs;
    let w0 = min(c0 + 0u + lane, last_col);
    let w1 = min(c0 + 8u + lane, last_col);
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
    for (var k = 0u; k < layer.outputs; k++) {
        let row = k * layer.inputs;
        let v0 = weights[row + w0];
        let v1 = weights[row + w1];
        let e0 = deltas[x0 + k];
        let e1 = deltas[x1 + k];
        let e2 = deltas[x2 + k];
        let e3 = deltas[x3 + k];
        let b0_0 = subgroupBroadcast(v0, 0u);
        a0_0_0 += e0 * b0_0;
        a1_0_0 += e1 * b0_0;
        a2_0_0 += e2 * b0_0;
        a3_0_0 += e3 * b0_0;
        let b0_1 = subgroupBroadcast(v0, 1u);
        a0_0_1 += e0 * b0_1;
        a1_0_1 += e1 * b0_1;
        a2_0_1 += e2 * b0_1;
        a3_0_1 += e3 * b0_1;
        let b0_2 = subgroupBroadcast(v0, 2u);
        a0_0_2 += e0 * b0_2;
        a1_0_2 += e1 * b0_2;
        a2_0_2 += e2 * b0_2;
        a3_0_2 += e3 * b0_2;
        let b0_3 = subgroupBroadcast(v0, 3u);
        a0_0_3 += e0 * b0_3;
        a1_0_3 += e1 * b0_3;
        a2_0_3 += e2 * b0_3;
        a3_0_3 += e3 * b0_3;
        let b0_4 = subgroupBroadcast(v0, 4u);
        a0_0_4 += e0 * b0_4;
        a1_0_4 += e1 * b0_4;
        a2_0_4 += e2 * b0_4;
        a3_0_4 += e3 * b0_4;
        let b0_5 = subgroupBroadcast(v0, 5u);
        a0_0_5 += e0 * b0_5;
        a1_0_5 += e1 * b0_5;
        a2_0_5 += e2 * b0_5;
        a3_0_5 += e3 * b0_5;
        let b0_6 = subgroupBroadcast(v0, 6u);
        a0_0_6 += e0 * b0_6;
        a1_0_6 += e1 * b0_6;
        a2_0_6 += e2 * b0_6;
        a3_0_6 += e3 * b0_6;
        let b0_7 = subgroupBroadcast(v0, 7u);
        a0_0_7 += e0 * b0_7;
        a1_0_7 += e1 * b0_7;
        a2_0_7 += e2 * b0_7;
        a3_0_7 += e3 * b0_7;
        let b1_0 = subgroupBroadcast(v1, 0u);
        a0_1_0 += e0 * b1_0;
        a1_1_0 += e1 * b1_0;
        a2_1_0 += e2 * b1_0;
        a3_1_0 += e3 * b1_0;
        let b1_1 = subgroupBroadcast(v1, 1u);
        a0_1_1 += e0 * b1_1;
        a1_1_1 += e1 * b1_1;
        a2_1_1 += e2 * b1_1;
        a3_1_1 += e3 * b1_1;
        let b1_2 = subgroupBroadcast(v1, 2u);
        a0_1_2 += e0 * b1_2;
        a1_1_2 += e1 * b1_2;
        a2_1_2 += e2 * b1_2;
        a3_1_2 += e3 * b1_2;
        let b1_3 = subgroupBroadcast(v1, 3u);
        a0_1_3 += e0 * b1_3;
        a1_1_3 += e1 * b1_3;
        a2_1_3 += e2 * b1_3;
        a3_1_3 += e3 * b1_3;
        let b1_4 = subgroupBroadcast(v1, 4u);
        a0_1_4 += e0 * b1_4;
        a1_1_4 += e1 * b1_4;
        a2_1_4 += e2 * b1_4;
        a3_1_4 += e3 * b1_4;
        let b1_5 = subgroupBroadcast(v1, 5u);
        a0_1_5 += e0 * b1_5;
        a1_1_5 += e1 * b1_5;
        a2_1_5 += e2 * b1_5;
        a3_1_5 += e3 * b1_5;
        let b1_6 = subgroupBroadcast(v1, 6u);
        a0_1_6 += e0 * b1_6;
        a1_1_6 += e1 * b1_6;
        a2_1_6 += e2 * b1_6;
        a3_1_6 += e3 * b1_6;
        let b1_7 = subgroupBroadcast(v1, 7u);
        a0_1_7 += e0 * b1_7;
        a1_1_7 += e1 * b1_7;
        a2_1_7 += e2 * b1_7;
        a3_1_7 += e3 * b1_7;
    }
    store(r0 + 0u + lane, c0 + 0u, a0_0_0);
    store(r0 + 0u + lane, c0 + 1u, a0_0_1);
    store(r0 + 0u + lane, c0 + 2u, a0_0_2);
    store(r0 + 0u + lane, c0 + 3u, a0_0_3);
    store(r0 + 0u + lane, c0 + 4u, a0_0_4);
    store(r0 + 0u + lane, c0 + 5u, a0_0_5);
    store(r0 + 0u + lane, c0 + 6u, a0_0_6);
    store(r0 + 0u + lane, c0 + 7u, a0_0_7);
    store(r0 + 0u + lane, c0 + 8u, a0_1_0);
    store(r0 + 0u + lane, c0 + 9u, a0_1_1);
    store(r0 + 0u + lane, c0 + 10u, a0_1_2);
    store(r0 + 0u + lane, c0 + 11u, a0_1_3);
    store(r0 + 0u + lane, c0 + 12u, a0_1_4);
    store(r0 + 0u + lane, c0 + 13u, a0_1_5);
    store(r0 + 0u + lane, c0 + 14u, a0_1_6);
    store(r0 + 0u + lane, c0 + 15u, a0_1_7);
    store(r0 + 8u + lane, c0 + 0u, a1_0_0);
    store(r0 + 8u + lane, c0 + 1u, a1_0_1);
    store(r0 + 8u + lane, c0 + 2u, a1_0_2);
    store(r0 + 8u + lane, c0 + 3u, a1_0_3);
    store(r0 + 8u + lane, c0 + 4u, a1_0_4);
    store(r0 + 8u + lane, c0 + 5u, a1_0_5);
    store(r0 + 8u + lane, c0 + 6u, a1_0_6);
    store(r0 + 8u + lane, c0 + 7u, a1_0_7);
    store(r0 + 8u + lane, c0 + 8u, a1_1_0);
    store(r0 + 8u + lane, c0 + 9u, a1_1_1);
    store(r0 + 8u + lane, c0 + 10u, a1_1_2);
    store(r0 + 8u + lane, c0 + 11u, a1_1_3);
    store(r0 + 8u + lane, c0 + 12u, a1_1_4);
    store(r0 + 8u + lane, c0 + 13u, a1_1_5);
    store(r0 + 8u + lane, c0 + 14u, a1_1_6);
    store(r0 + 8u + lane, c0 + 15u, a1_1_7);
    store(r0 + 16u + lane, c0 + 0u, a2_0_0);
    store(r0 + 16u + lane, c0 + 1u, a2_0_1);
    store(r0 + 16u + lane, c0 + 2u, a2_0_2);
    store(r0 + 16u + lane, c0 + 3u, a2_0_3);
    store(r0 + 16u + lane, c0 + 4u, a2_0_4);
    store(r0 + 16u + lane, c0 + 5u, a2_0_5);
    store(r0 + 16u + lane, c0 + 6u, a2_0_6);
    store(r0 + 16u + lane, c0 + 7u, a2_0_7);
    store(r0 + 16u + lane, c0 + 8u, a2_1_0);
    store(r0 + 16u + lane, c0 + 9u, a2_1_1);
    store(r0 + 16u + lane, c0 + 10u, a2_1_2);
    store(r0 + 16u + lane, c0 + 11u, a2_1_3);
    store(r0 + 16u + lane, c0 + 12u, a2_1_4);
    store(r0 + 16u + lane, c0 + 13u, a2_1_5);
    store(r0 + 16u + lane, c0 + 14u, a2_1_6);
    store(r0 + 16u + lane, c0 + 15u, a2_1_7);
    store(r0 + 24u + lane, c0 + 0u, a3_0_0);
    store(r0 + 24u + lane, c0 + 1u, a3_0_1);
    store(r0 + 24u + lane, c0 + 2u, a3_0_2);
    store(r0 + 24u + lane, c0 + 3u, a3_0_3);
    store(r0 + 24u + lane, c0 + 4u, a3_0_4);
    store(r0 + 24u + lane, c0 + 5u, a3_0_5);
    store(r0 + 24u + lane, c0 + 6u, a3_0_6);
    store(r0 + 24u + lane, c0 + 7u, a3_0_7);
    store(r0 + 24u + lane, c0 + 8u, a3_1_0);
    store(r0 + 24u + lane, c0 + 9u, a3_1_1);
    store(r0 + 24u + lane, c0 + 10u, a3_1_2);
    store(r0 + 24u + lane, c0 + 11u, a3_1_3);
    store(r0 + 24u + lane, c0 + 12u, a3_1_4);
    store(r0 + 24u + lane, c0 + 13u, a3_1_5);
    store(r0 + 24u + lane, c0 + 14u, a3_1_6);
    store(r0 + 24u + lane, c0 + 15u, a3_1_7);
}
