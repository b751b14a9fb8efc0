// The register-block kernels' entry point: WG_X × WG_Y invocations per workgroup (overrides,
// 8 × 8), invocation `id` computing one register block through the kernel's
// `fn block(id: vec3<u32>)`. A block lives in named vec4 accumulators, written out by the
// composer's #unroll: indexed arrays would spill to memory (lavapipe's do).
override WG_X: u32 = 8u;
override WG_Y: u32 = 8u;

@compute @workgroup_size(WG_X, WG_Y)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
    block(id);
}
