// gemm's load_b4 for an f32 operand B that the kernel reads element by element through
// `fn b_at(k: u32, n: u32) -> f32`, B having `gemm_n()` columns: 4 elements along B's
// contiguous axis (k when B_K_CONTIGUOUS, else n), 0 past the matrix or k_end.
fn load_b4(k: u32, n: u32, k_end: u32) -> vec4<f32> {
    var v = vec4<f32>();
    for (var c = 0u; c < 4u; c++) {
        let kc = select(k, k + c, B_K_CONTIGUOUS);
        let nc = select(n + c, n, B_K_CONTIGUOUS);
        if kc < k_end && nc < gemm_n() {
            v[c] = b_at(kc, nc);
        }
    }
    return v;
}
