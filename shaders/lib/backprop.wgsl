// Stores acc ⊙ f'(s) for the inputs i0..i0+3 of row r that exist, s what the layer below kept
// (saved_offset): the register-block backprop_error's block rows and its tiled form's epilogue.
// The kernel declares `activations_in` and `deltas_in`.
#import activation

fn store_deltas_in(r: u32, i0: u32, acc: vec4<f32>) {
    if r >= batch.rows {
        return;
    }
    for (var c = 0u; c < 4u; c++) {
        let i = i0 + c;
        if i < layer.inputs {
            let s = activations_in[saved_offset(layer.inputs) + r * layer.inputs + i];
            deltas_in[r * layer.inputs + i] = acc[c] * activation_derivative(s);
        }
    }
}
