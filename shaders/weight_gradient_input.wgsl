// weight_gradient_input: split-K partial sums of the first layer's weight gradient, reading
// the packed u8 images through the order buffer (x = pixel / 255).
//   partials[s][o][i] = Σ_{r in split s} deltas[r][o]·x[order[batch.first + r]][i], split s
//   covering rows [s·chunk, min((s+1)·chunk, rows)).
// Shapes: deltas (rows × layer.outputs), images (n × layer.words) u32, order (n) u32,
//   partials (splits × outputs × inputs). One invocation: 8 outputs × the 8 pixels of two words.
#import params
#import block
#import partials
#import pixels
@group(0) @binding(2) var<storage, read> deltas: array<f32>;
@group(0) @binding(3) var<storage, read> images: array<u32>;
@group(0) @binding(4) var<storage, read> order: array<u32>;
@group(0) @binding(5) var<storage, read_write> partials: array<f32>;

// The 8×8 block lives in sixteen named vec4 accumulators (lo: pixels of the first word, hi: of
// the second), written out by the composer's #unroll: on lavapipe every buffer load costs a
// scalar loop, so the block size sets FMAs per load, and indexed arrays would spill to memory.
fn block(id: vec3<u32>) {
    let word0 = id.x * 2u;
    let o0 = id.y * 8u;
    let split = id.z;
    if word0 >= layer.words || o0 >= layer.outputs || split >= batch.splits {
        return;
    }
    // A missing second word repeats the first: its pixels land past layer.inputs, unstored.
    let word1 = min(word0 + 1u, layer.words - 1u);
    let last_out = layer.outputs - 1u;
#unroll j 8
    let out{j} = min(o0 + {j}u, last_out);
    var lo{j} = vec4<f32>();
    var hi{j} = vec4<f32>();
#end
    let first = split * batch.chunk;
    let end = min(first + batch.chunk, batch.rows);
    for (var r = first; r < end; r++) {
        let image = order[batch.first + r] * layer.words;
        let x_lo = unpack_pixels(images[image + word0]);
        let x_hi = unpack_pixels(images[image + word1]);
        let d = r * layer.outputs;
#unroll j 8
        let d{j} = deltas[d + out{j}];
        lo{j} += d{j} * x_lo;
        hi{j} += d{j} * x_hi;
#end
    }
    let i0 = word0 * 4u;
#unroll j 8
    store_partials(split, o0 + {j}u, i0, lo{j});
    store_partials(split, o0 + {j}u, i0 + 4u, hi{j});
#end
}
