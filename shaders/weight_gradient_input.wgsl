// weight_gradient_input: split-K partial sums of the first layer's weight gradient, reading
// the packed u8 images through the order buffer (x = pixel / 255).
//   partials[s][o][i] = Σ_{r in split s} deltas[r][o]·x[order[batch.first + r]][i], split s
//   covering rows [s·chunk, min((s+1)·chunk, rows)).
// Shapes: deltas (rows × layer.outputs), images (n × layer.words) u32, order (n) u32,
//   partials (splits × outputs × inputs). One invocation: 8 outputs × the 8 pixels of two words.
#import params
#import pixels
@group(0) @binding(2) var<storage, read> deltas: array<f32>;
@group(0) @binding(3) var<storage, read> images: array<u32>;
@group(0) @binding(4) var<storage, read> order: array<u32>;
@group(0) @binding(5) var<storage, read_write> partials: array<f32>;

override WG_X: u32 = 8u;
override WG_Y: u32 = 8u;

// Writes the partial sums of output o, inputs i0..i0+3, that exist.
fn store(split: u32, o: u32, i0: u32, acc: vec4<f32>) {
    if o >= layer.outputs {
        return;
    }
    let base = (split * layer.outputs + o) * layer.inputs;
    for (var c = 0u; c < 4u; c++) {
        let i = i0 + c;
        if i < layer.inputs {
            partials[base + i] = acc[c];
        }
    }
}

// The 8×8 block lives in sixteen named vec4 accumulators (lo: pixels of the first word, hi: of
// the second): on lavapipe every buffer load costs a scalar loop, so the block size sets FMAs
// per load, and indexed arrays would spill to memory.
@compute @workgroup_size(WG_X, WG_Y)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
    let word0 = id.x * 2u;
    let o0 = id.y * 8u;
    let split = id.z;
    if word0 >= layer.words || o0 >= layer.outputs || split >= batch.splits {
        return;
    }
    // A missing second word repeats the first: its pixels land past layer.inputs, unstored.
    let word1 = min(word0 + 1u, layer.words - 1u);
    let last_out = layer.outputs - 1u;
    let out0 = min(o0 + 0u, last_out);
    let out1 = min(o0 + 1u, last_out);
    let out2 = min(o0 + 2u, last_out);
    let out3 = min(o0 + 3u, last_out);
    let out4 = min(o0 + 4u, last_out);
    let out5 = min(o0 + 5u, last_out);
    let out6 = min(o0 + 6u, last_out);
    let out7 = min(o0 + 7u, last_out);
    let first = split * batch.chunk;
    let end = min(first + batch.chunk, batch.rows);
    var lo0 = vec4<f32>();
    var hi0 = vec4<f32>();
    var lo1 = vec4<f32>();
    var hi1 = vec4<f32>();
    var lo2 = vec4<f32>();
    var hi2 = vec4<f32>();
    var lo3 = vec4<f32>();
    var hi3 = vec4<f32>();
    var lo4 = vec4<f32>();
    var hi4 = vec4<f32>();
    var lo5 = vec4<f32>();
    var hi5 = vec4<f32>();
    var lo6 = vec4<f32>();
    var hi6 = vec4<f32>();
    var lo7 = vec4<f32>();
    var hi7 = vec4<f32>();
    for (var r = first; r < end; r++) {
        let image = order[batch.first + r] * layer.words;
        let x_lo = unpack_pixels(images[image + word0]);
        let x_hi = unpack_pixels(images[image + word1]);
        let d = r * layer.outputs;
        let d0 = deltas[d + out0];
        lo0 += d0 * x_lo;
        hi0 += d0 * x_hi;
        let d1 = deltas[d + out1];
        lo1 += d1 * x_lo;
        hi1 += d1 * x_hi;
        let d2 = deltas[d + out2];
        lo2 += d2 * x_lo;
        hi2 += d2 * x_hi;
        let d3 = deltas[d + out3];
        lo3 += d3 * x_lo;
        hi3 += d3 * x_hi;
        let d4 = deltas[d + out4];
        lo4 += d4 * x_lo;
        hi4 += d4 * x_hi;
        let d5 = deltas[d + out5];
        lo5 += d5 * x_lo;
        hi5 += d5 * x_hi;
        let d6 = deltas[d + out6];
        lo6 += d6 * x_lo;
        hi6 += d6 * x_hi;
        let d7 = deltas[d + out7];
        lo7 += d7 * x_lo;
        hi7 += d7 * x_hi;
    }
    let i0 = word0 * 4u;
    store(split, o0 + 0u, i0, lo0);
    store(split, o0 + 0u, i0 + 4u, hi0);
    store(split, o0 + 1u, i0, lo1);
    store(split, o0 + 1u, i0 + 4u, hi1);
    store(split, o0 + 2u, i0, lo2);
    store(split, o0 + 2u, i0 + 4u, hi2);
    store(split, o0 + 3u, i0, lo3);
    store(split, o0 + 3u, i0 + 4u, hi3);
    store(split, o0 + 4u, i0, lo4);
    store(split, o0 + 4u, i0 + 4u, hi4);
    store(split, o0 + 5u, i0, lo5);
    store(split, o0 + 5u, i0 + 4u, hi5);
    store(split, o0 + 6u, i0, lo6);
    store(split, o0 + 6u, i0 + 4u, hi6);
    store(split, o0 + 7u, i0, lo7);
    store(split, o0 + 7u, i0 + 4u, hi7);
}
