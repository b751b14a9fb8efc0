// backprop_error: the error of the layer below, with the activation derivative fused.
//   deltas_in[r][i] = (Σ_o deltas[r][o]·weights[o][i]) · f'(s[r][i]),
//   s = what the layer's input activation saved: its outputs, or its z past them.
// Shapes: deltas (rows × layer.outputs), weights (outputs × inputs), activations_in
//   (rows × inputs), deltas_in (rows × inputs). One invocation: 4 rows × 4 inputs.
#import params
#import block
#import backprop
@group(0) @binding(2) var<storage, read> deltas: array<f32>;
@group(0) @binding(3) var<storage, read> weights: array<f32>;
@group(0) @binding(4) var<storage, read> activations_in: array<f32>;
@group(0) @binding(5) var<storage, read_write> deltas_in: array<f32>;

// A 4×4 block in named accumulators (lib/block.wgsl). Out-of-range rows and inputs
// repeat the last one.
fn block(id: vec3<u32>) {
    let i0 = id.x * 4u;
    let r0 = id.y * 4u;
    if i0 >= layer.inputs || r0 >= batch.rows {
        return;
    }
    let last_row = batch.rows - 1u;
    let last_in = layer.inputs - 1u;
#unroll j 4
    let row{j} = min(r0 + {j}u, last_row) * layer.outputs;
    let in{j} = min(i0 + {j}u, last_in);
    var acc{j} = vec4<f32>();
#end
    for (var o = 0u; o < layer.outputs; o++) {
        let w = o * layer.inputs;
        let v = vec4<f32>(weights[w + in0], weights[w + in1], weights[w + in2], weights[w + in3]);
#unroll j 4
        acc{j} += deltas[row{j} + o] * v;
#end
    }
#unroll j 4
    store_deltas_in(r0 + {j}u, i0, acc{j});
#end
}
