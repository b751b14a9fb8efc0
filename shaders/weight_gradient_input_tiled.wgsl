// weight_gradient_input_tiled: weight_gradient_input (split-K partial sums of the first layer's
// weight gradient on packed u8 images gathered through the order buffer) as a workgroup-tiled
// product.
//   partials[s][o][i] = Σ_{r in split s} deltas[r][o]·x[r][i], x[r] = image order[batch.first + r].
// C = Aᵀ·B with M = outputs, N = inputs, K = the split's rows; A[m][k] = deltas[k][m]
// (contiguous along m), B = x (one packed word is 4 consecutive n).
// Shapes: deltas (rows × layer.outputs), images (n × layer.words) u32, order (n) u32,
//   partials (splits × outputs × inputs). Grid (ceil(inputs/BN), ceil(outputs/BM), splits).
#import params
#import gradient_tiled
#import gemm_load_a
#import pixels

@group(0) @binding(2) var<storage, read> deltas: array<f32>;
@group(0) @binding(3) var<storage, read> images: array<u32>;
@group(0) @binding(4) var<storage, read> order: array<u32>;
@group(0) @binding(5) var<storage, read_write> partials: array<f32>;

const A_K_CONTIGUOUS: bool = false;
const B_K_CONTIGUOUS: bool = false;

fn gemm_m() -> u32 {
    return layer.outputs;
}

fn a_at(m: u32, k: u32) -> f32 {
    return deltas[k * layer.outputs + m];
}

// n is a multiple of 4: one word. Pixels past layer.inputs are zero and never stored.
fn load_b4(k: u32, n: u32, k_end: u32) -> vec4<f32> {
    if k >= k_end || n >= layer.inputs {
        return vec4<f32>();
    }
    return unpack_pixels(images[order[batch.first + k] * layer.words + n / 4u]);
}
