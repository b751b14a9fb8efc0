// Bias o's gradient, a column sum of the error taken row by row as the CPU engine sums it:
// Σ_r deltas[r][o]. The kernel declares `deltas` (rows × layer.outputs, f32).
fn column_sum(o: u32) -> f32 {
    var sum = 0.0;
    for (var r = 0u; r < batch.rows; r++) {
        sum += deltas[r * layer.outputs + o];
    }
    return sum;
}
