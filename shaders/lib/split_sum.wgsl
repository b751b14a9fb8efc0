// A weight's gradient from the split-K partial sums: Σ_{s < splits} partials[s][e], each split
// holding `count` weights. The kernel declares `partials` (f32).
fn split_sum(e: u32, count: u32) -> f32 {
    var sum = 0.0;
    for (var s = 0u; s < batch.splits; s++) {
        sum += partials[s * count + e];
    }
    return sum;
}
