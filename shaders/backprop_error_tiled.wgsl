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

@group(0) @binding(2) var<storage, read> deltas: array<f32>;
@group(0) @binding(3) var<storage, read> weights: array<f32>;
@group(0) @binding(4) var<storage, read> activations_in: array<f32>;
@group(0) @binding(5) var<storage, read_write> deltas_in: array<f32>;

const A_K_CONTIGUOUS: bool = true;
const B_K_CONTIGUOUS: bool = false;

fn load_a4(m: u32, k: u32, k_end: u32) -> vec4<f32> {
    var v = vec4<f32>();
    if m < batch.rows {
        for (var c = 0u; c < 4u; c++) {
            if k + c < k_end {
                v[c] = deltas[m * layer.outputs + k + c];
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
                v[c] = weights[k * layer.inputs + n + c];
            }
        }
    }
    return v;
}

fn epilogue(m: u32, n: u32, c: vec4<f32>) {
    store_deltas_in(m, n, c);
}

#import gemm

@compute @workgroup_size(BN / TN, BM / TM)
fn main(@builtin(local_invocation_index) t: u32, @builtin(workgroup_id) group: vec3<u32>) {
    gemm(t, group.y * BM, group.x * BN, 0u, layer.outputs);
}
