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
