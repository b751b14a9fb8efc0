// forward_hidden: a later layer on f32 activations.
//   outputs[r][o] = f(Σ_i inputs[r][i]·weights[o][i] + biases[o]).
// Shapes: inputs (rows × layer.inputs), parameters (weights outputs × inputs, then biases outputs),
//   outputs (rows × outputs). One invocation: a 4 rows × 4 outputs register block.
#import params
#import block
#import forward
@group(0) @binding(2) var<storage, read> inputs: array<f32>;
@group(0) @binding(3) var<storage, read> parameters: array<f32>;
@group(0) @binding(4) var<storage, read_write> outputs: array<f32>;

// A 4×4 block in named accumulators (lib/block.wgsl). Out-of-range rows and outputs
// repeat the last one.
fn block(id: vec3<u32>) {
    let o0 = id.x * 4u;
    let r0 = id.y * 4u;
    if o0 >= layer.outputs || r0 >= batch.rows {
        return;
    }
    let last_row = batch.rows - 1u;
    let last_out = layer.outputs - 1u;
#unroll j 4
    let row{j} = min(r0 + {j}u, last_row) * layer.inputs;
    let out{j} = min(o0 + {j}u, last_out) * layer.inputs;
    var acc{j} = vec4<f32>();
#end
    for (var k = 0u; k < layer.inputs; k++) {
        let v = vec4<f32>(parameters[out0 + k], parameters[out1 + k], parameters[out2 + k], parameters[out3 + k]);
#unroll j 4
        acc{j} += inputs[row{j} + k] * v;
#end
    }
#unroll j 4
    store_outputs(r0 + {j}u, o0, acc{j});
#end
}
