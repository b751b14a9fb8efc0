// The tiled weight-gradient kernels' side of gemm: workgroup z is a split of the batch (its
// rows the K range), and the epilogue stores the split's partial sums (lib/partials.wgsl).
#import partials
#import gemm

// The epilogue's split (set once per invocation; it only picks where results are stored).
var<private> split: u32;

fn epilogue(m: u32, n: u32, c: vec4<f32>) {
    store_partials(split, m, n, c);
}

// The split's rows, from workgroup_id and uniforms only (never through the private `split`:
// the WGSL uniformity analysis, which Tint enforces, treats every private variable as varying,
// and gemm's barriers sit in a loop bounded by this range); the epilogue's split is set here.
fn k_range(group: vec3<u32>) -> vec2<u32> {
    split = group.z;
    return split_rows(group.z);
}
