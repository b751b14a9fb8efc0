// Stores the weight-gradient partial sums of output o, inputs i0..i0+3 that exist, into
// split `split`'s block (splits × outputs × inputs): the register-block weight-gradient
// kernels' block rows and their tiled forms' epilogue. The kernel declares `partials`.
fn store_partials(split: u32, o: u32, i0: u32, acc: vec4<f32>) {
    if o >= layer.outputs {
        return;
    }
    let base = (split * layer.outputs + o) * layer.inputs;
    for (var c = 0u; c < 4u; c++) {
        let i = i0 + c;
        if i < layer.inputs {
            partials[base + i] = acc[c];
        }
    }
}
