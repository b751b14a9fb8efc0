// evaluate: the predicted class (argmax, first on ties) of each image of a chunk, and the
// count of correct ones.
//   image = batch.first + r; predictions[image] = argmax_j activations[r][j];
//   correct += (predictions[image] == labels[image]).
// Shapes: activations (rows × layer.outputs), labels (n) u32, predictions (n) u32,
//   correct (1) atomic u32. One invocation per row.
#import line
@group(0) @binding(2) var<storage, read> activations: array<f32>;
@group(0) @binding(3) var<storage, read> labels: array<u32>;
@group(0) @binding(4) var<storage, read_write> predictions: array<u32>;
@group(0) @binding(5) var<storage, read_write> correct: array<atomic<u32>>;

fn items() -> u32 {
    return batch.rows;
}

fn item(r: u32) {
    let base = r * layer.outputs;
    var best = 0u;
    for (var j = 1u; j < layer.outputs; j++) {
        if activations[base + j] > activations[base + best] {
            best = j;
        }
    }
    let image = batch.first + r;
    predictions[image] = best;
    if best == labels[image] {
        atomicAdd(&correct[0], 1u);
    }
}
