// The tiled forward kernels' side of gemm: the whole K (the layer's inputs) per workgroup, and
// the epilogue storing f(C + bias) through store_outputs (lib/forward.wgsl).
#import forward
#import gemm

fn epilogue(m: u32, n: u32, c: vec4<f32>) {
    store_outputs(m, n, c);
}

fn k_range(group: vec3<u32>) -> vec2<u32> {
    return vec2<u32>(0u, layer.inputs);
}
