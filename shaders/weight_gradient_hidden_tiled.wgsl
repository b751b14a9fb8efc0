// weight_gradient_hidden_tiled: weight_gradient_hidden (split-K partial sums of a later layer's
// weight gradient on f32 activations) as a workgroup-tiled product.
//   partials[s][o][i] = Σ_{r in split s} deltas[r][o]·activations_in[r][i].
// C = Aᵀ·B with M = outputs, N = inputs, K = the split's rows; A[m][k] = deltas[k][m]
// (contiguous along m), B = activations_in (contiguous along n).
// Shapes: deltas (rows × layer.outputs), activations_in (rows × layer.inputs),
//   partials (splits × outputs × inputs). Grid (ceil(inputs/BN), ceil(outputs/BM), splits).
#import params
#import partials

@group(0) @binding(2) var<storage, read> deltas: array<f32>;
@group(0) @binding(3) var<storage, read> activations_in: array<f32>;
@group(0) @binding(4) var<storage, read_write> partials: array<f32>;

const A_K_CONTIGUOUS: bool = false;
const B_K_CONTIGUOUS: bool = false;

fn load_a4(m: u32, k: u32, k_end: u32) -> vec4<f32> {
    var v = vec4<f32>();
    if k < k_end {
        for (var c = 0u; c < 4u; c++) {
            if m + c < layer.outputs {
                v[c] = deltas[k * layer.outputs + m + c];
            }
        }
    }
    return v;
}

fn load_b4(k: u32, n: u32, k_end: u32) -> vec4<f32> {
    var v = vec4<f32>();
    if k < k_end {
        for (var c = 0u; c < 4u; c++) {
            if n + c < layer.inputs {
                v[c] = activations_in[k * layer.inputs + n + c];
            }
        }
    }
    return v;
}

// The epilogue's split (set once per invocation; it only picks where results are stored).
var<private> split: u32;

fn epilogue(m: u32, n: u32, c: vec4<f32>) {
    store_partials(split, m, n, c);
}

#import gemm

@compute @workgroup_size(BN / TN, BM / TM)
fn main(@builtin(local_invocation_index) t: u32, @builtin(workgroup_id) group: vec3<u32>) {
    // The k range comes from workgroup_id and uniforms only, never through the private
    // `split`: the WGSL uniformity analysis (Tint enforces it) treats every private variable
    // as varying, and gemm's barriers sit in a loop bounded by this range.
    let rows = split_rows(group.z);
    split = group.z;
    gemm(t, group.y * BM, group.x * BN, rows.x, rows.y);
}
