// forward_hidden: a later layer on f32 activations.
//   outputs[r][o] = f(Σ_i inputs[r][i]·weights[o][i] + biases[o]).
// Shapes: inputs (rows × layer.inputs), parameters (weights outputs × inputs, then biases outputs),
//   outputs (rows × outputs). One invocation: a 4 rows × 4 outputs register block.
#import params
#import activation
@group(0) @binding(2) var<storage, read> inputs: array<f32>;
@group(0) @binding(3) var<storage, read> parameters: array<f32>;
@group(0) @binding(4) var<storage, read_write> outputs: array<f32>;

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

// The 4×4 block lives in four named vec4 accumulators: indexed arrays would spill to memory.
@compute @workgroup_size(WG_X, WG_Y)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
    let o0 = id.x * 4u;
    let r0 = id.y * 4u;
    if o0 >= layer.outputs || r0 >= batch.rows {
        return;
    }
    let last_row = batch.rows - 1u;
    let a0 = r0 * layer.inputs;
    let a1 = min(r0 + 1u, last_row) * layer.inputs;
    let a2 = min(r0 + 2u, last_row) * layer.inputs;
    let a3 = min(r0 + 3u, last_row) * layer.inputs;
    let last_out = layer.outputs - 1u;
    let w0 = o0 * layer.inputs;
    let w1 = min(o0 + 1u, last_out) * layer.inputs;
    let w2 = min(o0 + 2u, last_out) * layer.inputs;
    let w3 = min(o0 + 3u, last_out) * layer.inputs;
    var acc0 = vec4<f32>();
    var acc1 = vec4<f32>();
    var acc2 = vec4<f32>();
    var acc3 = vec4<f32>();
    for (var k = 0u; k < layer.inputs; k++) {
        let v = vec4<f32>(parameters[w0 + k], parameters[w1 + k], parameters[w2 + k], parameters[w3 + k]);
        acc0 += inputs[a0 + k] * v;
        acc1 += inputs[a1 + k] * v;
        acc2 += inputs[a2 + k] * v;
        acc3 += inputs[a3 + k] * v;
    }
    store(r0, o0, acc0);
    store(r0 + 1u, o0, acc1);
    store(r0 + 2u, o0, acc2);
    store(r0 + 3u, o0, acc3);
}
