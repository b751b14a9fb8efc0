// The cost kernels' entry point: one workgroup of WG invocations; invocation t sums the
// kernel's `fn row_cost(r: u32) -> f32` over rows t, t + WG, ..., a tree reduction adds the
// invocations' sums, and invocation 0 stores `costs[batch.index] = batch_cost(total)` (the
// kernel's `fn batch_cost(total: f32) -> f32`; it declares `costs`).
#import params

const WG: u32 = 256u;
var<workgroup> partial: array<f32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) t: u32) {
    var sum = 0.0;
    for (var r = t; r < batch.rows; r += WG) {
        sum += row_cost(r);
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
        costs[batch.index] = batch_cost(partial[0]);
    }
}
