// dropout_forward: a hidden layer's outputs with the batch's dropout mask applied, for the next
// layer and the weight gradient (the unmasked outputs stay for the activation's derivative).
//   dropped[e] = activations[e] · mask(e), e < rows·layer.outputs.
// Shapes: activations (rows × outputs), dropped (rows × outputs). One invocation per element.
#import line
#import dropout
@group(0) @binding(2) var<storage, read> activations: array<f32>;
@group(0) @binding(3) var<storage, read_write> dropped: array<f32>;

fn items() -> u32 {
    return batch.rows * layer.outputs;
}

fn item(e: u32) {
    dropped[e] = activations[e] * dropout_mask(dropout_key(), e);
}
