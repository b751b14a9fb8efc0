// forward_input: the first layer on packed u8 images, gathered through the order buffer.
//   x[r] = image order[batch.first + r] (layer.words u32 words, 4 pixels each, byte 0 first),
//   pixel value / 255; outputs[r][o] = f(Σ_i x[r][i]·weights[o][i] + biases[o]).
// Shapes: images (n × words) u32, order (n) u32, parameters (weights outputs × inputs, then biases outputs),
//   outputs (rows × outputs). One invocation: an 8 rows × 8 outputs register block.
#import params
#import block
#import forward
#import pixels
@group(0) @binding(2) var<storage, read> images: array<u32>;
@group(0) @binding(3) var<storage, read> order: array<u32>;
@group(0) @binding(4) var<storage, read> parameters: array<f32>;
@group(0) @binding(5) var<storage, read_write> outputs: array<f32>;

// The 8×8 block lives in sixteen named vec4 accumulators (lo: outputs o0..o0+3, hi: o0+4..o0+7),
// written out by the composer's #unroll: on lavapipe every buffer load costs a scalar loop, so
// the block size sets FMAs per load, and indexed arrays would spill to memory.
fn block(id: vec3<u32>) {
    let o0 = id.x * 8u;
    let r0 = id.y * 8u;
    if o0 >= layer.outputs || r0 >= batch.rows {
        return;
    }
    // Out-of-range rows and outputs repeat the last one (clamped loads, skipped stores).
    let last_row = batch.rows - 1u;
    let last_out = layer.outputs - 1u;
#unroll j 8
    let x{j} = order[batch.first + min(r0 + {j}u, last_row)] * layer.words;
    let w{j} = min(o0 + {j}u, last_out) * layer.inputs;
    var lo{j} = vec4<f32>();
    var hi{j} = vec4<f32>();
#end
    let last = layer.inputs - 1u;
    for (var w = 0u; w < layer.words; w++) {
        // Padding pixels past layer.inputs are zero, so a clamped weight index adds nothing.
        let i0 = w * 4u;
        let i1 = min(i0 + 1u, last);
        let i2 = min(i0 + 2u, last);
        let i3 = min(i0 + 3u, last);
#unroll o 8
        let v{o} = vec4<f32>(parameters[w{o} + i0], parameters[w{o} + i1], parameters[w{o} + i2], parameters[w{o} + i3]);
#end
#unroll r 8
        let p{r} = unpack_pixels(images[x{r} + w]);
        lo{r} += vec4<f32>(dot(p{r}, v0), dot(p{r}, v1), dot(p{r}, v2), dot(p{r}, v3));
        hi{r} += vec4<f32>(dot(p{r}, v4), dot(p{r}, v5), dot(p{r}, v6), dot(p{r}, v7));
#end
    }
#unroll r 8
    store_outputs(r0 + {r}u, o0, lo{r});
    store_outputs(r0 + {r}u, o0 + 4u, hi{r});
#end
}
