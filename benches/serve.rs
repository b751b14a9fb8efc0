//! `cargo bench --bench serve`: what one `POST /api/predict` of a drawing costs the server
//! besides HTTP — decoding the page's 280×280 PNG, the MNIST preprocessing, the forward pass
//! (plain, and the CPU's inference engine that the server runs) —
//! to compare with the requests per second measured over loopback (BENCHMARKS.md).

use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use mnist_gpu::engine::cpu::CpuInference;
use mnist_gpu::engine::{Inference, Pixels};
use mnist_gpu::model::Network;
use mnist_gpu::predict::{decode_picture, mnist_input};

/// A "7" drawn on the page's 280-pixel pad with its 20-pixel round pen, as a grey PNG.
fn drawing() -> Vec<u8> {
    const SIZE: usize = 280;
    let stroke = [(70.0f32, 50.0f32), (210.0, 50.0), (120.0, 240.0)];
    let mut pixels = vec![255u8; SIZE * SIZE];
    for pair in stroke.windows(2) {
        let ((x0, y0), (x1, y1)) = (pair[0], pair[1]);
        let steps = ((x1 - x0).hypot(y1 - y0) / 2.0).ceil() as usize;
        for s in 0..=steps {
            let t = s as f32 / steps as f32;
            let (cx, cy) = (x0 + t * (x1 - x0), y0 + t * (y1 - y0));
            for (i, p) in pixels.iter_mut().enumerate() {
                let (x, y) = ((i % SIZE) as f32 + 0.5, (i / SIZE) as f32 + 0.5);
                if (x - cx).hypot(y - cy) <= 10.0 {
                    *p = 0;
                }
            }
        }
    }
    let mut png = Vec::new();
    let mut encoder = png::Encoder::new(&mut png, SIZE as u32, SIZE as u32);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().expect("header");
    writer.write_image_data(&pixels).expect("pixels");
    writer.finish().expect("finish");
    png
}

fn pipeline(c: &mut Criterion) {
    let png = drawing();
    let image = decode_picture("bench", &png).expect("decode");
    let input = mnist_input(Path::new("bench"), &image).expect("input");
    let network = Network::new(&[128], 1).expect("network");
    let mut group = c.benchmark_group("serve");
    group.bench_function("decode_picture_280x280", |b| {
        b.iter(|| decode_picture("bench", &png).expect("decode"))
    });
    group.bench_function("mnist_input_280x280", |b| {
        b.iter(|| mnist_input(Path::new("bench"), &image).expect("input"))
    });
    group.bench_function("forward_784-128-10", |b| b.iter(|| network.forward(&input)));
    // What the server runs without a GPU: the CPU's inference engine on one picture.
    let mut engine = CpuInference::new(network.clone());
    group.bench_function("cpu_inference_784-128-10", |b| {
        b.iter(|| engine.outputs(Pixels::Values(&input)).expect("outputs"))
    });
    group.finish();
}

criterion_group!(benches, pipeline);
criterion_main!(benches);
