// forward_input: the first layer on packed u8 images, gathered through the order buffer.
//   x[r] = image order[batch.first + r] (layer.words u32 words, 4 pixels each, byte 0 first),
//   pixel value / 255; outputs[r][o] = f(Σ_i x[r][i]·weights[o][i] + biases[o]).
// Shapes: images (n × words) u32, order (n) u32, parameters (weights outputs × inputs, then biases outputs),
//   outputs (rows × outputs). One invocation: an 8 rows × 8 outputs register block.
#import params
#import activation
#import pixels
@group(0) @binding(2) var<storage, read> images: array<u32>;
@group(0) @binding(3) var<storage, read> order: array<u32>;
@group(0) @binding(4) var<storage, read> parameters: array<f32>;
@group(0) @binding(5) var<storage, read_write> outputs: array<f32>;

override WG_X: u32 = 8u;
override WG_Y: u32 = 8u;

// Writes f(acc + bias) for the outputs o0..o0+3 of row r that exist.
fn store(r: u32, o0: u32, acc: vec4<f32>) {
    if r >= batch.rows {
        return;
    }
    for (var c = 0u; c < 4u; c++) {
        let o = o0 + c;
        if o < layer.outputs {
            outputs[r * layer.outputs + o] = activate(acc[c] + parameters[bias_index(o)]);
        }
    }
}

// The 8×8 block lives in sixteen named vec4 accumulators (lo: outputs o0..o0+3, hi: o0+4..o0+7):
// on lavapipe every buffer load costs a scalar loop, so the block size sets FMAs per load, and
// indexed arrays would spill to memory.
@compute @workgroup_size(WG_X, WG_Y)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
    let o0 = id.x * 8u;
    let r0 = id.y * 8u;
    if o0 >= layer.outputs || r0 >= batch.rows {
        return;
    }
    // Out-of-range rows and outputs repeat the last one (clamped loads, skipped stores).
    let last_row = batch.rows - 1u;
    let last_out = layer.outputs - 1u;
    let x0 = order[batch.first + min(r0 + 0u, last_row)] * layer.words;
    let x1 = order[batch.first + min(r0 + 1u, last_row)] * layer.words;
    let x2 = order[batch.first + min(r0 + 2u, last_row)] * layer.words;
    let x3 = order[batch.first + min(r0 + 3u, last_row)] * layer.words;
    let x4 = order[batch.first + min(r0 + 4u, last_row)] * layer.words;
    let x5 = order[batch.first + min(r0 + 5u, last_row)] * layer.words;
    let x6 = order[batch.first + min(r0 + 6u, last_row)] * layer.words;
    let x7 = order[batch.first + min(r0 + 7u, last_row)] * layer.words;
    let w0 = min(o0 + 0u, last_out) * layer.inputs;
    let w1 = min(o0 + 1u, last_out) * layer.inputs;
    let w2 = min(o0 + 2u, last_out) * layer.inputs;
    let w3 = min(o0 + 3u, last_out) * layer.inputs;
    let w4 = min(o0 + 4u, last_out) * layer.inputs;
    let w5 = min(o0 + 5u, last_out) * layer.inputs;
    let w6 = min(o0 + 6u, last_out) * layer.inputs;
    let w7 = min(o0 + 7u, last_out) * layer.inputs;
    let last = layer.inputs - 1u;
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
    for (var w = 0u; w < layer.words; w++) {
        // Padding pixels past layer.inputs are zero, so a clamped weight index adds nothing.
        let i0 = w * 4u;
        let i1 = min(i0 + 1u, last);
        let i2 = min(i0 + 2u, last);
        let i3 = min(i0 + 3u, last);
        let v0 = vec4<f32>(parameters[w0 + i0], parameters[w0 + i1], parameters[w0 + i2], parameters[w0 + i3]);
        let v1 = vec4<f32>(parameters[w1 + i0], parameters[w1 + i1], parameters[w1 + i2], parameters[w1 + i3]);
        let v2 = vec4<f32>(parameters[w2 + i0], parameters[w2 + i1], parameters[w2 + i2], parameters[w2 + i3]);
        let v3 = vec4<f32>(parameters[w3 + i0], parameters[w3 + i1], parameters[w3 + i2], parameters[w3 + i3]);
        let v4 = vec4<f32>(parameters[w4 + i0], parameters[w4 + i1], parameters[w4 + i2], parameters[w4 + i3]);
        let v5 = vec4<f32>(parameters[w5 + i0], parameters[w5 + i1], parameters[w5 + i2], parameters[w5 + i3]);
        let v6 = vec4<f32>(parameters[w6 + i0], parameters[w6 + i1], parameters[w6 + i2], parameters[w6 + i3]);
        let v7 = vec4<f32>(parameters[w7 + i0], parameters[w7 + i1], parameters[w7 + i2], parameters[w7 + i3]);
        let p0 = unpack_pixels(images[x0 + w]);
        lo0 += vec4<f32>(dot(p0, v0), dot(p0, v1), dot(p0, v2), dot(p0, v3));
        hi0 += vec4<f32>(dot(p0, v4), dot(p0, v5), dot(p0, v6), dot(p0, v7));
        let p1 = unpack_pixels(images[x1 + w]);
        lo1 += vec4<f32>(dot(p1, v0), dot(p1, v1), dot(p1, v2), dot(p1, v3));
        hi1 += vec4<f32>(dot(p1, v4), dot(p1, v5), dot(p1, v6), dot(p1, v7));
        let p2 = unpack_pixels(images[x2 + w]);
        lo2 += vec4<f32>(dot(p2, v0), dot(p2, v1), dot(p2, v2), dot(p2, v3));
        hi2 += vec4<f32>(dot(p2, v4), dot(p2, v5), dot(p2, v6), dot(p2, v7));
        let p3 = unpack_pixels(images[x3 + w]);
        lo3 += vec4<f32>(dot(p3, v0), dot(p3, v1), dot(p3, v2), dot(p3, v3));
        hi3 += vec4<f32>(dot(p3, v4), dot(p3, v5), dot(p3, v6), dot(p3, v7));
        let p4 = unpack_pixels(images[x4 + w]);
        lo4 += vec4<f32>(dot(p4, v0), dot(p4, v1), dot(p4, v2), dot(p4, v3));
        hi4 += vec4<f32>(dot(p4, v4), dot(p4, v5), dot(p4, v6), dot(p4, v7));
        let p5 = unpack_pixels(images[x5 + w]);
        lo5 += vec4<f32>(dot(p5, v0), dot(p5, v1), dot(p5, v2), dot(p5, v3));
        hi5 += vec4<f32>(dot(p5, v4), dot(p5, v5), dot(p5, v6), dot(p5, v7));
        let p6 = unpack_pixels(images[x6 + w]);
        lo6 += vec4<f32>(dot(p6, v0), dot(p6, v1), dot(p6, v2), dot(p6, v3));
        hi6 += vec4<f32>(dot(p6, v4), dot(p6, v5), dot(p6, v6), dot(p6, v7));
        let p7 = unpack_pixels(images[x7 + w]);
        lo7 += vec4<f32>(dot(p7, v0), dot(p7, v1), dot(p7, v2), dot(p7, v3));
        hi7 += vec4<f32>(dot(p7, v4), dot(p7, v5), dot(p7, v6), dot(p7, v7));
    }
    store(r0 + 0u, o0, lo0);
    store(r0 + 0u, o0 + 4u, hi0);
    store(r0 + 1u, o0, lo1);
    store(r0 + 1u, o0 + 4u, hi1);
    store(r0 + 2u, o0, lo2);
    store(r0 + 2u, o0 + 4u, hi2);
    store(r0 + 3u, o0, lo3);
    store(r0 + 3u, o0 + 4u, hi3);
    store(r0 + 4u, o0, lo4);
    store(r0 + 4u, o0 + 4u, hi4);
    store(r0 + 5u, o0, lo5);
    store(r0 + 5u, o0 + 4u, hi5);
    store(r0 + 6u, o0, lo6);
    store(r0 + 6u, o0 + 4u, hi6);
    store(r0 + 7u, o0, lo7);
    store(r0 + 7u, o0 + 4u, hi7);
}
