// gemm's load_a4 for an f32 operand A that the kernel reads element by element through
// `fn a_at(m: u32, k: u32) -> f32`, A having `gemm_m()` rows: 4 elements along A's contiguous
// axis (k when A_K_CONTIGUOUS, else m), 0 past the matrix or k_end.
fn load_a4(m: u32, k: u32, k_end: u32) -> vec4<f32> {
    var v = vec4<f32>();
    for (var c = 0u; c < 4u; c++) {
        let mc = select(m + c, m, A_K_CONTIGUOUS);
        let kc = select(k, k + c, A_K_CONTIGUOUS);
        if mc < gemm_m() && kc < k_end {
            v[c] = a_at(mc, kc);
        }
    }
    return v;
}
