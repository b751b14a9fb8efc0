// The workgroup-tiled matrix product shared by the *_tiled kernels:
//   C[m][n] = Σ_{k in [k_begin, k_end)} A[m][k]·B[k][n], handed to the kernel's epilogue.
// A workgroup computes one BM×BN tile of C. For each BK-deep slice of K, its invocations stage
// the slice of A (BM×BK) and of B (BK×BN) in workgroup memory, loading 4 consecutive elements
// along each operand's contiguous axis per load, consecutive invocations taking consecutive
// 16-byte groups (coalesced); then each invocation accumulates a TM×TN register block from
// workgroup memory (TM/4 + TN/4 vec4 reads per TM·TN FMAs).
//
// The including kernel provides (the host prepends BM, BN, BK, TM, TN, all multiples of 4):
//   const A_K_CONTIGUOUS: bool  whether A's rows are contiguous along k (else along m);
//   const B_K_CONTIGUOUS: bool  whether B's columns are contiguous along k (else along n);
//   fn load_a4(m: u32, k: u32, k_end: u32) -> vec4<f32>  4 elements of A from (m, k) along its
//       contiguous axis (k..k+3 of row m, or m..m+3 of column k), 0 past the matrix or k_end;
//   fn load_b4(k: u32, n: u32, k_end: u32) -> vec4<f32>  likewise for B
//       (for f32 operands read element by element, lib/gemm_load_a.wgsl and gemm_load_b.wgsl
//       write these from the kernel's a_at / b_at);
//   fn epilogue(m: u32, n: u32, c: vec4<f32>)  C[m][n..n+3]: stores what exists;
//   fn k_range(group: vec3<u32>) -> vec2<u32>  the workgroup's [k_begin, k_end), uniform.
// The entry point `main` is here.
// Grid: (ceil(N / BN), ceil(M / BM), z) with workgroup_size(BN / TN, BM / TM).

const GEMM_THREADS: u32 = (BM / TM) * (BN / TN);

// Slices as vec4s: tile_a[k][m / 4] and tile_b[k][n / 4].
var<workgroup> tile_a: array<vec4<f32>, BK * BM / 4u>;
var<workgroup> tile_b: array<vec4<f32>, BK * BN / 4u>;

fn stage_a(t: u32, m0: u32, k0: u32, k_end: u32) {
    for (var e = t; e < BM * BK / 4u; e += GEMM_THREADS) {
        if A_K_CONTIGUOUS {
            let k = (e % (BK / 4u)) * 4u;
            let m = e / (BK / 4u);
            let v = load_a4(m0 + m, k0 + k, k_end);
            for (var c = 0u; c < 4u; c++) {
                tile_a[(k + c) * (BM / 4u) + m / 4u][m % 4u] = v[c];
            }
        } else {
            let m = (e % (BM / 4u)) * 4u;
            let k = e / (BM / 4u);
            tile_a[k * (BM / 4u) + m / 4u] = load_a4(m0 + m, k0 + k, k_end);
        }
    }
}

fn stage_b(t: u32, n0: u32, k0: u32, k_end: u32) {
    for (var e = t; e < BN * BK / 4u; e += GEMM_THREADS) {
        if B_K_CONTIGUOUS {
            let k = (e % (BK / 4u)) * 4u;
            let n = e / (BK / 4u);
            let v = load_b4(k0 + k, n0 + n, k_end);
            for (var c = 0u; c < 4u; c++) {
                tile_b[(k + c) * (BN / 4u) + n / 4u][n % 4u] = v[c];
            }
        } else {
            let n = (e % (BN / 4u)) * 4u;
            let k = e / (BN / 4u);
            tile_b[k * (BN / 4u) + n / 4u] = load_b4(k0 + k, n0 + n, k_end);
        }
    }
}

// Invocation t of the workgroup whose tile starts at (m0, n0). Every invocation must call it
// (it holds barriers): k_begin and k_end must be uniform over the workgroup.
fn gemm(t: u32, m0: u32, n0: u32, k_begin: u32, k_end: u32) {
    let tn = t % (BN / TN);
    let tm = t / (BN / TN);
    // acc[i][j / 4]: rows m0 + tm·TM + i, columns n0 + tn·TN + j.
    var acc: array<vec4<f32>, TM * TN / 4u>;
    for (var k0 = k_begin; k0 < k_end; k0 += BK) {
        stage_a(t, m0, k0, k_end);
        stage_b(t, n0, k0, k_end);
        workgroupBarrier();
        for (var k = 0u; k < BK; k++) {
            var b: array<vec4<f32>, TN / 4u>;
            for (var j = 0u; j < TN / 4u; j++) {
                b[j] = tile_b[k * (BN / 4u) + tn * (TN / 4u) + j];
            }
            for (var i4 = 0u; i4 < TM / 4u; i4++) {
                let a = tile_a[k * (BM / 4u) + tm * (TM / 4u) + i4];
                for (var c = 0u; c < 4u; c++) {
                    for (var j = 0u; j < TN / 4u; j++) {
                        acc[(i4 * 4u + c) * (TN / 4u) + j] += a[c] * b[j];
                    }
                }
            }
        }
        workgroupBarrier();
    }
    for (var i = 0u; i < TM; i++) {
        for (var j = 0u; j < TN / 4u; j++) {
            epilogue(m0 + tm * TM + i, n0 + tn * TN + j * 4u, acc[i * (TN / 4u) + j]);
        }
    }
}

@compute @workgroup_size(BN / TN, BM / TM)
fn main(@builtin(local_invocation_index) t: u32, @builtin(workgroup_id) group: vec3<u32>) {
    let k = k_range(group);
    gemm(t, group.y * BM, group.x * BN, k.x, k.y);
}
