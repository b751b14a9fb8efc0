// weight_gradient_hidden: split-K partial sums of the weight gradient on f32 activations.
//   partials[s][o][i] = Σ_{r in split s} deltas[r][o]·activations_in[r][i], split s covering
//   rows [s·chunk, min((s+1)·chunk, rows)).
// Shapes: deltas (rows × layer.outputs), activations_in (rows × layer.inputs),
//   partials (splits × outputs × inputs). One invocation: 4 outputs × 4 inputs of one split.
#import params
#import block
#import partials
@group(0) @binding(2) var<storage, read> deltas: array<f32>;
@group(0) @binding(3) var<storage, read> activations_in: array<f32>;
@group(0) @binding(4) var<storage, read_write> partials: array<f32>;

// A 4×4 block in named accumulators (lib/block.wgsl). Out-of-range outputs and inputs
// repeat the last one.
fn block(id: vec3<u32>) {
    let i0 = id.x * 4u;
    let o0 = id.y * 4u;
    let split = id.z;
    if i0 >= layer.inputs || o0 >= layer.outputs || split >= batch.splits {
        return;
    }
    let last_out = layer.outputs - 1u;
    let last_in = layer.inputs - 1u;
#unroll j 4
    let out{j} = min(o0 + {j}u, last_out);
    let in{j} = min(i0 + {j}u, last_in);
    var acc{j} = vec4<f32>();
#end
    let first = split * batch.chunk;
    let end = min(first + batch.chunk, batch.rows);
    for (var r = first; r < end; r++) {
        let d = r * layer.outputs;
        let a = r * layer.inputs;
        let v = vec4<f32>(activations_in[a + in0], activations_in[a + in1],
                          activations_in[a + in2], activations_in[a + in3]);
#unroll j 4
        acc{j} += deltas[d + out{j}] * v;
#end
    }
#unroll j 4
    store_partials(split, o0 + {j}u, i0, acc{j});
#end
}
