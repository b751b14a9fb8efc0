// batch_cost: the batch's quadratic cost, into its slot.
//   costs[batch.index] = Σ_r Σ_j (a[r][j] − y[r][j])² / (2·rows), y the one-hot label of image
//   order[batch.first + r].
// Shapes: activations (rows × layer.outputs), labels (n) u32, order (n) u32, costs (batches).
// One workgroup (lib/batch_sum.wgsl).
#import batch_sum

@group(0) @binding(2) var<storage, read> activations: array<f32>;
@group(0) @binding(3) var<storage, read> labels: array<u32>;
@group(0) @binding(4) var<storage, read> order: array<u32>;
@group(0) @binding(5) var<storage, read_write> costs: array<f32>;

// (a − y)² summed over the row's classes, y the one-hot label.
fn row_cost(r: u32) -> f32 {
    let label = labels[order[batch.first + r]];
    var sum = 0.0;
    for (var j = 0u; j < layer.outputs; j++) {
        let diff = activations[r * layer.outputs + j] - select(0.0, 1.0, j == label);
        sum += diff * diff;
    }
    return sum;
}

fn batch_cost(total: f32) -> f32 {
    return total / (2.0 * f32(batch.rows));
}
