// backprop_error_tiled: backprop_error (the error of the layer below) as a workgroup-tiled
// product, the activation derivative fused into the epilogue.
//   deltas_in[r][i] = (Σ_o deltas[r][o]·weights[o][i]) · f'(s[r][i]), s = what activations_in
//   saved (see backprop_error).
// C = A·B with M = rows, N = layer.inputs, K = layer.outputs; A = deltas (contiguous along k),
// B = weights (contiguous along n).
// Shapes: deltas (rows × outputs), weights (outputs × inputs), activations_in (rows × inputs),
//   deltas_in (rows × inputs). Grid (ceil(inputs/BN), ceil(rows/BM), 1).
#import params
#import backprop
#import gemm_load_a
#import gemm_load_b

@group(0) @binding(2) var<storage, read> deltas: array<f32>;
@group(0) @binding(3) var<storage, read> weights: array<f32>;
@group(0) @binding(4) var<storage, read> activations_in: array<f32>;
@group(0) @binding(5) var<storage, read_write> deltas_in: array<f32>;

const A_K_CONTIGUOUS: bool = true;
const B_K_CONTIGUOUS: bool = false;

fn gemm_m() -> u32 {
    return batch.rows;
}

fn a_at(m: u32, k: u32) -> f32 {
    return deltas[m * layer.outputs + k];
}

fn gemm_n() -> u32 {
    return layer.inputs;
}

fn b_at(k: u32, n: u32) -> f32 {
    return weights[k * layer.inputs + n];
}

fn epilogue(m: u32, n: u32, c: vec4<f32>) {
    store_deltas_in(m, n, c);
}

fn k_range(group: vec3<u32>) -> vec2<u32> {
    return vec2<u32>(0u, layer.outputs);
}

#import gemm
