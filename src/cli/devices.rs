//! `mnist-gpu devices`: every GPU adapter wgpu finds, with the limits this program depends on.

use clap::Args;
use mnist_gpu::engine::gpu::list_adapters;

#[derive(Args, Debug)]
pub struct DevicesArgs {}

pub fn run(_args: DevicesArgs) -> anyhow::Result<()> {
    let adapters = list_adapters(wgpu::Backends::all());
    if adapters.is_empty() {
        println!(
            "no GPU adapter found (for software Vulkan: apt-get install mesa-vulkan-drivers); \
             train with --cpu"
        );
        return Ok(());
    }
    for (i, adapter) in adapters.iter().enumerate() {
        let (info, limits) = (&adapter.info, &adapter.limits);
        // GL adapters report no driver name; their driver_info says the version.
        let driver = match (info.driver.trim(), info.driver_info.trim()) {
            ("", "") => "unknown".to_string(),
            ("", version) => version.to_string(),
            (name, "") => name.to_string(),
            (name, version) => format!("{name} {version}"),
        };
        println!(
            "{i}: {} ({:?}, {:?}), driver {driver}",
            info.name, info.backend, info.device_type
        );
        println!(
            "   max storage binding {} MiB, max buffer {} MiB, workgroup storage {} KiB, \
             {} invocations per workgroup, {} workgroups per dimension",
            limits.max_storage_buffer_binding_size / (1 << 20),
            limits.max_buffer_size / (1 << 20),
            limits.max_compute_workgroup_storage_size / 1024,
            limits.max_compute_invocations_per_workgroup,
            limits.max_compute_workgroups_per_dimension
        );
        if adapter.features.contains(wgpu::Features::SUBGROUP) {
            println!(
                "   subgroups of {}–{} lanes",
                info.subgroup_min_size, info.subgroup_max_size
            );
        }
    }
    Ok(())
}
