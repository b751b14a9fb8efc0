// forward_hidden_tiled: forward_hidden (a later layer on f32 activations) as a workgroup-tiled
// product, bias and activation fused into the epilogue.
//   outputs[r][o] = f(Σ_i inputs[r][i]·weights[o][i] + biases[o]).
// C = A·Bᵀ with M = rows, N = outputs, K = layer.inputs; A = inputs, B[k][n] = weights[n][k]:
// both contiguous along k.
// Shapes: inputs (rows × layer.inputs), parameters (weights outputs × inputs, then biases outputs),
//   outputs (rows × outputs). Grid (ceil(outputs/BN), ceil(rows/BM), 1).
#import params
#import forward

@group(0) @binding(2) var<storage, read> inputs: array<f32>;
@group(0) @binding(3) var<storage, read> parameters: array<f32>;
@group(0) @binding(4) var<storage, read_write> outputs: array<f32>;

const A_K_CONTIGUOUS: bool = true;
const B_K_CONTIGUOUS: bool = true;

fn load_a4(m: u32, k: u32, k_end: u32) -> vec4<f32> {
    var v = vec4<f32>();
    if m < batch.rows {
        for (var c = 0u; c < 4u; c++) {
            if k + c < k_end {
                v[c] = inputs[m * layer.inputs + k + c];
            }
        }
    }
    return v;
}

fn load_b4(k: u32, n: u32, k_end: u32) -> vec4<f32> {
    var v = vec4<f32>();
    if n < layer.outputs {
        for (var c = 0u; c < 4u; c++) {
            if k + c < k_end {
                v[c] = parameters[n * layer.inputs + k + c];
            }
        }
    }
    return v;
}

fn epilogue(m: u32, n: u32, c: vec4<f32>) {
    store_outputs(m, n, c);
}

#import gemm

@compute @workgroup_size(BN / TN, BM / TM)
fn main(@builtin(local_invocation_index) t: u32, @builtin(workgroup_id) group: vec3<u32>) {
    gemm(t, group.y * BM, group.x * BN, 0u, layer.inputs);
}
