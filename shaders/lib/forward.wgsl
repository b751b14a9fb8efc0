// The forward kernels' store of one output element e (row-major, rows × layer.outputs):
// outputs[e] = f(z), and z itself saved_offset(layer.outputs) further on when the activation's
// derivative needs it (activation_saves_input(): the buffer then holds layer.saved_rows rows of
// outputs, then as many of z). The kernel declares `outputs`.
#import activation

fn store_activation(e: u32, z: f32) {
    outputs[e] = activate(z);
    if activation_saves_input() {
        outputs[saved_offset(layer.outputs) + e] = z;
    }
}

// Stores f(acc + bias) for the outputs o0..o0+3 of row r that exist: the register-block
// kernels' block rows and the tiled kernels' epilogue. The kernel declares `parameters` too.
fn store_outputs(r: u32, o0: u32, acc: vec4<f32>) {
    if r >= batch.rows {
        return;
    }
    for (var c = 0u; c < 4u; c++) {
        let o = o0 + c;
        if o < layer.outputs {
            store_activation(r * layer.outputs + o, acc[c] + parameters[bias_index(o)]);
        }
    }
}
