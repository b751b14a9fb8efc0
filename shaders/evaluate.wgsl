// evaluate: the predicted class (argmax, first on ties) of each image of a chunk, and the
// count of correct ones.
//   image = batch.first + r; predictions[image] = argmax_j activations[r][j];
//   correct += (predictions[image] == labels[image]).
// Shapes: activations (rows × layer.outputs), labels (n) u32, predictions (n) u32,
//   correct (1) atomic u32. One invocation per row.
#import params
@group(0) @binding(2) var<storage, read> activations: array<f32>;
@group(0) @binding(3) var<storage, read> labels: array<u32>;
@group(0) @binding(4) var<storage, read_write> predictions: array<u32>;
@group(0) @binding(5) var<storage, read_write> correct: array<atomic<u32>>;

override WG: u32 = 64u;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let r = flat_index(id, groups, WG);
    if r >= batch.rows {
        return;
    }
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
