// dropout_backward: a hidden layer's error through its dropout mask (the forward pass's).
//   deltas[e] *= mask(e), e < rows·layer.outputs.
// Shapes: deltas (rows × outputs). One invocation per element.
#import line
#import dropout
@group(0) @binding(2) var<storage, read_write> deltas: array<f32>;

fn items() -> u32 {
    return batch.rows * layer.outputs;
}

fn item(e: u32) {
    deltas[e] *= dropout_mask(dropout_key(), e);
}
