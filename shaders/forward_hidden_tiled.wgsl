// forward_hidden_tiled: forward_hidden (a later layer on f32 activations) as a workgroup-tiled
// product, bias and activation fused into the epilogue.
//   outputs[r][o] = f(Σ_i inputs[r][i]·weights[o][i] + biases[o]).
// C = A·Bᵀ with M = rows, N = outputs, K = layer.inputs; A = inputs, B[k][n] = weights[n][k]:
// both contiguous along k.
// Shapes: inputs (rows × layer.inputs), parameters (weights outputs × inputs, then biases outputs),
//   outputs (rows × outputs). Grid (ceil(outputs/BN), ceil(rows/BM), 1).
#import params
#import forward_tiled
#import gemm_load_a
#import gemm_load_b

@group(0) @binding(2) var<storage, read> inputs: array<f32>;
@group(0) @binding(3) var<storage, read> parameters: array<f32>;
@group(0) @binding(4) var<storage, read_write> outputs: array<f32>;

const A_K_CONTIGUOUS: bool = true;
const B_K_CONTIGUOUS: bool = true;

fn gemm_m() -> u32 {
    return batch.rows;
}

fn a_at(m: u32, k: u32) -> f32 {
    return inputs[m * layer.inputs + k];
}

fn gemm_n() -> u32 {
    return layer.outputs;
}

fn b_at(k: u32, n: u32) -> f32 {
    return parameters[n * layer.inputs + k];
}
