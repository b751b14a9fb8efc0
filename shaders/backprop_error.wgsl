// backprop_error: the error of the layer below, with the activation derivative fused.
//   deltas_in[r][i] = (Σ_o deltas[r][o]·weights[o][i]) · f'(a[r][i]),
//   a = the layer's input activations.
// Shapes: deltas (rows × layer.outputs), weights (outputs × inputs), activations_in
//   (rows × inputs), deltas_in (rows × inputs). One invocation: 4 rows × 4 inputs.
#import params
#import activation
@group(0) @binding(2) var<storage, read> deltas: array<f32>;
@group(0) @binding(3) var<storage, read> weights: array<f32>;
@group(0) @binding(4) var<storage, read> activations_in: array<f32>;
@group(0) @binding(5) var<storage, read_write> deltas_in: array<f32>;

override WG_X: u32 = 8u;
override WG_Y: u32 = 8u;

// Writes acc ⊙ f'(a) for the inputs i0..i0+3 of row r that exist.
fn store(r: u32, i0: u32, acc: vec4<f32>) {
    if r >= batch.rows {
        return;
    }
    for (var c = 0u; c < 4u; c++) {
        let i = i0 + c;
        if i < layer.inputs {
            let a = activations_in[r * layer.inputs + i];
            deltas_in[r * layer.inputs + i] = acc[c] * activation_derivative(a);
        }
    }
}

// The 4×4 block lives in four named vec4 accumulators: indexed arrays would spill to memory.
@compute @workgroup_size(WG_X, WG_Y)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
    let i0 = id.x * 4u;
    let r0 = id.y * 4u;
    if i0 >= layer.inputs || r0 >= batch.rows {
        return;
    }
    let last_row = batch.rows - 1u;
    let d0 = r0 * layer.outputs;
    let d1 = min(r0 + 1u, last_row) * layer.outputs;
    let d2 = min(r0 + 2u, last_row) * layer.outputs;
    let d3 = min(r0 + 3u, last_row) * layer.outputs;
    let last_in = layer.inputs - 1u;
    let i1 = min(i0 + 1u, last_in);
    let i2 = min(i0 + 2u, last_in);
    let i3 = min(i0 + 3u, last_in);
    var acc0 = vec4<f32>();
    var acc1 = vec4<f32>();
    var acc2 = vec4<f32>();
    var acc3 = vec4<f32>();
    for (var o = 0u; o < layer.outputs; o++) {
        let row = o * layer.inputs;
        let v = vec4<f32>(weights[row + i0], weights[row + i1], weights[row + i2], weights[row + i3]);
        acc0 += deltas[d0 + o] * v;
        acc1 += deltas[d1 + o] * v;
        acc2 += deltas[d2 + o] * v;
        acc3 += deltas[d3 + o] * v;
    }
    store(r0, i0, acc0);
    store(r0 + 1u, i0, acc1);
    store(r0 + 2u, i0, acc2);
    store(r0 + 3u, i0, acc3);
}
