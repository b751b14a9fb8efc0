//! Times each WGSL kernel once at the default training shapes (784-128-10, batch 1000).
use std::time::Instant;

use mnist_gpu::engine::gpu::kernels::Kernel;
use mnist_gpu::engine::gpu::params::{BatchParams, LayerParams};
use mnist_gpu::engine::gpu::{AdapterRequest, GpuContext};

fn main() -> mnist_gpu::Result<()> {
    let ctx = GpuContext::new(AdapterRequest {
        backends: wgpu::Backends::all(),
        allow_software: true,
    })?;
    let rows = 1000usize;
    let batch = BatchParams::new(0, 0, rows);
    let l0 = LayerParams::new(784, 128, 2.0);
    let l1 = LayerParams::new(128, 10, 2.0);
    let big = |name: &str, n: usize| ctx.buffer(name, (n * 4) as u64);
    let images = big("images", rows * 196);
    let order = ctx.buffer_with(
        "order",
        bytemuck::cast_slice(&(0..rows as u32).collect::<Vec<_>>()),
    );
    let w0 = big("w0", 784 * 128);
    let b0 = big("b0", 128);
    let a0 = big("a0", rows * 128);
    let d0 = big("d0", rows * 128);
    let w1 = big("w1", 1280);
    let b1 = big("b1", 10);
    let a1 = big("a1", rows * 10);
    let d1 = big("d1", rows * 10);
    let partials = big("partials", 32 * 784 * 128);
    let labels = big("labels", rows);
    let row_costs = big("row_costs", rows);
    let costs = big("costs", 64);
    let cases: Vec<(Kernel, LayerParams, Vec<&wgpu::Buffer>)> = vec![
        (
            Kernel::ForwardInput,
            l0,
            vec![&images, &order, &w0, &b0, &a0],
        ),
        (Kernel::ForwardHidden, l1, vec![&a0, &w1, &b1, &a1]),
        (
            Kernel::OutputError,
            l1,
            vec![&a1, &labels, &order, &d1, &row_costs],
        ),
        (Kernel::BatchCost, l1, vec![&row_costs, &costs]),
        (Kernel::BackpropError, l1, vec![&d1, &w1, &a0, &d0]),
        (Kernel::WeightGradientHidden, l1, vec![&d1, &a0, &partials]),
        (Kernel::WeightUpdate, l1, vec![&partials, &w1]),
        (Kernel::BiasUpdate, l1, vec![&d1, &b1]),
        (
            Kernel::WeightGradientInput,
            l0,
            vec![&d0, &images, &order, &partials],
        ),
        (Kernel::WeightUpdate, l0, vec![&partials, &w0]),
        (Kernel::BiasUpdate, l0, vec![&d0, &b0]),
    ];
    for (kernel, layer, storage) in cases {
        ctx.run_once(kernel, batch, layer, &storage)?;
        let start = Instant::now();
        for _ in 0..3 {
            ctx.run_once(kernel, batch, layer, &storage)?;
        }
        println!(
            "{:>24} {:?}: {:.2} ms",
            kernel.name(),
            kernel.workgroups(&batch, &layer),
            start.elapsed().as_secs_f64() * 1000.0 / 3.0
        );
    }
    Ok(())
}
