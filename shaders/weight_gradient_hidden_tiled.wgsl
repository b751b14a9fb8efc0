// weight_gradient_hidden_tiled: weight_gradient_hidden (split-K partial sums of a later layer's
// weight gradient on f32 activations) as a workgroup-tiled product.
//   partials[s][o][i] = Σ_{r in split s} deltas[r][o]·activations_in[r][i].
// C = Aᵀ·B with M = outputs, N = inputs, K = the split's rows; A[m][k] = deltas[k][m]
// (contiguous along m), B = activations_in (contiguous along n).
// Shapes: deltas (rows × layer.outputs), activations_in (rows × layer.inputs),
//   partials (splits × outputs × inputs). Grid (ceil(inputs/BN), ceil(outputs/BM), splits).
#import params
#import gradient_tiled
#import gemm_load_a
#import gemm_load_b

@group(0) @binding(2) var<storage, read> deltas: array<f32>;
@group(0) @binding(3) var<storage, read> activations_in: array<f32>;
@group(0) @binding(4) var<storage, read_write> partials: array<f32>;

const A_K_CONTIGUOUS: bool = false;
const B_K_CONTIGUOUS: bool = false;

fn gemm_m() -> u32 {
    return layer.outputs;
}

fn a_at(m: u32, k: u32) -> f32 {
    return deltas[k * layer.outputs + m];
}

fn gemm_n() -> u32 {
    return layer.inputs;
}

fn b_at(k: u32, n: u32) -> f32 {
    return activations_in[k * layer.inputs + n];
}
