// batch_cost: the batch's quadratic cost, into its slot.
//   costs[batch.index] = Σ_r Σ_j (a[r][j] − y[r][j])² / (2·rows), y the one-hot label of image
//   order[batch.first + r].
// Shapes: activations (rows × layer.outputs), labels (n) u32, order (n) u32, costs (batches).
// One workgroup: each invocation sums rows t, t + WG, ..., then a tree reduction.
#import params

@group(0) @binding(2) var<storage, read> activations: array<f32>;
@group(0) @binding(3) var<storage, read> labels: array<u32>;
@group(0) @binding(4) var<storage, read> order: array<u32>;
@group(0) @binding(5) var<storage, read_write> costs: array<f32>;

const WG: u32 = 256u;
var<workgroup> partial: array<f32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) t: u32) {
    var sum = 0.0;
    for (var r = t; r < batch.rows; r += WG) {
        let label = labels[order[batch.first + r]];
        for (var j = 0u; j < layer.outputs; j++) {
            let diff = activations[r * layer.outputs + j] - select(0.0, 1.0, j == label);
            sum += diff * diff;
        }
    }
    partial[t] = sum;
    workgroupBarrier();
    for (var stride = WG / 2u; stride > 0u; stride /= 2u) {
        if t < stride {
            partial[t] += partial[t + stride];
        }
        workgroupBarrier();
    }
    if t == 0u {
        costs[batch.index] = partial[0] / (2.0 * f32(batch.rows));
    }
}
