// batch_cost: the batch's cost from the per-image squared errors, into its slot.
//   costs[batch.index] = Σ_r row_costs[r] / (2·rows).
// Shapes: row_costs (rows), costs (batches). One workgroup: strided sums, then a tree.
#import params
@group(0) @binding(2) var<storage, read> row_costs: array<f32>;
@group(0) @binding(3) var<storage, read_write> costs: array<f32>;

const WG: u32 = 256u;
var<workgroup> partial: array<f32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) t: u32) {
    var sum = 0.0;
    for (var r = t; r < batch.rows; r += WG) {
        sum += row_costs[r];
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
