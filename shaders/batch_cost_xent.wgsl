// batch_cost_xent: the batch's cross-entropy cost, into its slot.
//   costs[batch.index] = −Σ_r ln max(p[r][label_r], smallest normal) / rows, label_r the label
//   of image order[batch.first + r] (an underflowed probability costs 87.3, as on the CPU).
// Shapes: activations (rows × layer.outputs, probabilities), labels (n) u32, order (n) u32,
//   costs (batches). One workgroup: each invocation sums rows t, t + WG, ..., then a tree
//   reduction.
#import params

@group(0) @binding(2) var<storage, read> activations: array<f32>;
@group(0) @binding(3) var<storage, read> labels: array<u32>;
@group(0) @binding(4) var<storage, read> order: array<u32>;
@group(0) @binding(5) var<storage, read_write> costs: array<f32>;

const WG: u32 = 256u;
const SMALLEST_NORMAL: f32 = 1.17549435e-38;
var<workgroup> partial: array<f32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) t: u32) {
    var sum = 0.0;
    for (var r = t; r < batch.rows; r += WG) {
        let label = labels[order[batch.first + r]];
        sum -= log(max(activations[r * layer.outputs + label], SMALLEST_NORMAL));
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
        costs[batch.index] = partial[0] / f32(batch.rows);
    }
}
