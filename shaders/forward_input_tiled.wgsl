// forward_input_tiled: forward_input (the first layer on packed u8 images gathered through the
// order buffer) as a workgroup-tiled product, bias and activation fused into the epilogue.
//   outputs[r][o] = f(Σ_i x[r][i]·weights[o][i] + biases[o]), x[r] = image order[batch.first + r].
// C = A·Bᵀ with M = rows, N = outputs, K = inputs; A = x (one packed word is 4 consecutive k),
// B[k][n] = weights[n][k]: both contiguous along k.
// Shapes: images (n × layer.words) u32, order (n) u32, parameters (weights outputs × inputs,
//   then biases outputs), outputs (rows × outputs). Grid (ceil(outputs/BN), ceil(rows/BM), 1).
#import params
#import pixels
#import forward

@group(0) @binding(2) var<storage, read> images: array<u32>;
@group(0) @binding(3) var<storage, read> order: array<u32>;
@group(0) @binding(4) var<storage, read> parameters: array<f32>;
@group(0) @binding(5) var<storage, read_write> outputs: array<f32>;

const A_K_CONTIGUOUS: bool = true;
const B_K_CONTIGUOUS: bool = true;

// k is a multiple of 4: one word. Pixels past layer.inputs are zero padding.
fn load_a4(m: u32, k: u32, k_end: u32) -> vec4<f32> {
    if m >= batch.rows || k >= k_end {
        return vec4<f32>();
    }
    return unpack_pixels(images[order[batch.first + m] * layer.words + k / 4u]);
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
