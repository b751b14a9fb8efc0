// The entry point of the 1-D kernels: one invocation per item, WG per workgroup (override),
// grids past 65,535 workgroups wrapped into y (flat_index). The kernel defines
// `fn items() -> u32` (how many there are) and `fn item(i: u32)` (what one invocation does).
#import params

override WG: u32 = 64u;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = flat_index(id, groups, WG);
    if i < items() {
        item(i);
    }
}
