// forward_input_tiled: forward_input (the first layer on packed u8 images gathered through the
// order buffer) as a workgroup-tiled product, bias and activation fused into the epilogue.
//   outputs[r][o] = f(Σ_i x[r][i]·weights[o][i] + biases[o]), x[r] = image order[batch.first + r].
// C = A·Bᵀ with M = rows, N = outputs, K = inputs; A = x (one packed word is 4 consecutive k),
// B[k][n] = weights[n][k]: both contiguous along k.
// Shapes: images (n × layer.words) u32, order (n) u32, parameters (weights outputs × inputs,
//   then biases outputs), outputs (rows × outputs). Grid (ceil(outputs/BN), ceil(rows/BM), 1).
#import params
#import pixels
#import forward_tiled
#import gemm_load_b

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

fn gemm_n() -> u32 {
    return layer.outputs;
}

fn b_at(k: u32, n: u32) -> f32 {
    return parameters[n * layer.inputs + k];
}
