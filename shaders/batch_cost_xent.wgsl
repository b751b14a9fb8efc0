// batch_cost_xent: the batch's cross-entropy cost, into its slot.
//   costs[batch.index] = −Σ_r ln max(p[r][label_r], smallest normal) / rows, label_r the label
//   of image order[batch.first + r] (an underflowed probability costs 87.3, as on the CPU).
// Shapes: activations (rows × layer.outputs, probabilities), labels (n) u32, order (n) u32,
//   costs (batches). One workgroup (lib/batch_sum.wgsl).
#import batch_sum

@group(0) @binding(2) var<storage, read> activations: array<f32>;
@group(0) @binding(3) var<storage, read> labels: array<u32>;
@group(0) @binding(4) var<storage, read> order: array<u32>;
@group(0) @binding(5) var<storage, read_write> costs: array<f32>;

const SMALLEST_NORMAL: f32 = 1.17549435e-38;

// −ln p of the row's label, an underflowed probability costing 87.3 as on the CPU.
fn row_cost(r: u32) -> f32 {
    let label = labels[order[batch.first + r]];
    return -log(max(activations[r * layer.outputs + label], SMALLEST_NORMAL));
}

fn batch_cost(total: f32) -> f32 {
    return total / f32(batch.rows);
}
