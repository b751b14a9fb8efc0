//! `predict`'s pictures: every supported format decodes to the same grey, a photo-like JPEG
//! (dark ink on off-white paper, noisy) gives the network nearly the same input as a clean PNG
//! of the same digit, oversized and corrupt pictures are one clear error, and a run with good
//! and bad pictures reports each.

use std::io::Cursor;
use std::path::Path;
use std::process::Command;

use image::{ImageFormat, Rgb, RgbImage};
use mnist_gpu::Error;
use mnist_gpu::model::Network;
use mnist_gpu::model_file::{self, SavedModel, TrainingInfo};
use mnist_gpu::predict::{decode_picture, mnist_input};

mod common;

/// Paper and ink of a photo of a digit written on paper.
const PAPER: [u8; 3] = [236, 229, 212];
const INK: [u8; 3] = [38, 40, 52];

/// How much ink covers pixel (x, y) of a `side`-pixel square picture of `digit` (28×28
/// MNIST-style grey, 255 = ink), by bilinear sampling.
fn ink_at(digit: &[u8], side: usize, x: usize, y: usize) -> f32 {
    let scale = 28.0 / side as f32;
    let (fx, fy) = (
        (x as f32 + 0.5) * scale - 0.5,
        (y as f32 + 0.5) * scale - 0.5,
    );
    let sample = |cx: i32, cy: i32| {
        if (0..28).contains(&cx) && (0..28).contains(&cy) {
            f32::from(digit[cy as usize * 28 + cx as usize]) / 255.0
        } else {
            0.0
        }
    };
    let (x0, y0) = (fx.floor() as i32, fy.floor() as i32);
    let (tx, ty) = (fx - x0 as f32, fy - y0 as f32);
    let top = sample(x0, y0) * (1.0 - tx) + sample(x0 + 1, y0) * tx;
    let bottom = sample(x0, y0 + 1) * (1.0 - tx) + sample(x0 + 1, y0 + 1) * tx;
    top * (1.0 - ty) + bottom * ty
}

/// A synthetic "7": a bar on top and a slanted stroke, 28×28 grey.
fn seven() -> Vec<u8> {
    let mut digit = vec![0u8; 784];
    for y in 0..28 {
        for x in 0..28 {
            let bar = (6..10).contains(&y) && (7..22).contains(&x);
            let stem_x = 21.0 - (y as f32 - 8.0) * 0.45;
            let stem = (8..24).contains(&y) && (x as f32 - stem_x).abs() < 2.0;
            if bar || stem {
                digit[y * 28 + x] = 255;
            }
        }
    }
    digit
}

/// `digit` as a photo: off-white paper lit unevenly, dark ink, sensor noise; `side` pixels.
fn photo(digit: &[u8], side: usize, seed: u32) -> RgbImage {
    let mut state = seed.wrapping_mul(2_654_435_761).max(1);
    let mut noise = move || {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        (state % 17) as f32 - 8.0
    };
    RgbImage::from_fn(side as u32, side as u32, |x, y| {
        let ink = ink_at(digit, side, x as usize, y as usize).clamp(0.0, 1.0);
        // Light falls off towards the bottom right by up to 8%.
        let light = 1.0 - 0.08 * (x + y) as f32 / (2 * side) as f32;
        let n = noise();
        Rgb(std::array::from_fn(|c| {
            let paper = f32::from(PAPER[c]) * light;
            let value = paper + (f32::from(INK[c]) - paper) * ink + n;
            value.clamp(0.0, 255.0) as u8
        }))
    })
}

/// A clean picture of `digit`: black ink on white.
fn clean(digit: &[u8], side: usize) -> RgbImage {
    RgbImage::from_fn(side as u32, side as u32, |x, y| {
        let ink = ink_at(digit, side, x as usize, y as usize).clamp(0.0, 1.0);
        Rgb([(255.0 * (1.0 - ink)) as u8; 3])
    })
}

fn encode(picture: &RgbImage, format: ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    match format {
        ImageFormat::Jpeg => {
            let encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85);
            picture.write_with_encoder(encoder).expect("jpeg");
        }
        ImageFormat::Gif => {
            // GIF wants RGBA frames.
            image::DynamicImage::ImageRgb8(picture.clone())
                .to_rgba8()
                .write_to(&mut out, format)
                .expect("gif");
        }
        _ => picture.write_to(&mut out, format).expect("encode"),
    }
    out.into_inner()
}

fn mean_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).sum::<f32>() / a.len() as f32
}

#[test]
fn every_format_reads_as_the_same_picture() {
    let picture = clean(&seven(), 64);
    let png = decode_picture("png", &encode(&picture, ImageFormat::Png)).expect("png");
    // Lossless formats give the PNG's grey exactly; GIF's palette holds these few greys exactly
    // too. JPEG is lossy: within a few grey levels on average.
    for format in [
        ImageFormat::Bmp,
        ImageFormat::Tiff,
        ImageFormat::WebP,
        ImageFormat::Gif,
    ] {
        let bytes = encode(&picture, format);
        let decoded = decode_picture(&format!("{format:?}"), &bytes).expect("decodes");
        assert_eq!((decoded.width, decoded.height), (64, 64), "{format:?}");
        let diff = mean_abs_diff(&decoded.values, &png.values);
        assert!(diff < 0.01, "{format:?}: mean difference {diff}");
    }
    let jpeg = decode_picture("jpeg", &encode(&picture, ImageFormat::Jpeg)).expect("jpeg");
    assert!(mean_abs_diff(&jpeg.values, &png.values) < 0.03);
}

#[test]
fn a_photo_like_jpeg_gives_nearly_the_input_of_a_clean_png() {
    let digit = seven();
    let clean_input = mnist_input(
        Path::new("clean.png"),
        &decode_picture("clean.png", &encode(&clean(&digit, 200), ImageFormat::Png)).expect("png"),
    )
    .expect("input");
    let photo_input = mnist_input(
        Path::new("photo.jpg"),
        &decode_picture(
            "photo.jpg",
            &encode(&photo(&digit, 300, 7), ImageFormat::Jpeg),
        )
        .expect("jpeg"),
    )
    .expect("input");
    // Paper texture, uneven light and JPEG artefacts move a few inputs a little; the stroke
    // (about 15% of the inputs at full ink) is the same.
    let diff = mean_abs_diff(&clean_input, &photo_input);
    assert!(diff < 0.04, "mean input difference {diff}");
    let ink = |input: &[f32]| input.iter().filter(|&&v| v > 0.5).count();
    let (a, b) = (ink(&clean_input), ink(&photo_input));
    assert!(a.abs_diff(b) * 5 < a, "{a} vs {b} inked inputs");
}

/// A PNG whose header claims `width × height` pixels, with one tiny data chunk.
fn png_claiming(width: u32, height: u32) -> Vec<u8> {
    fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        out.extend_from_slice(kind);
        out.extend_from_slice(data);
        let mut crc = flate2::Crc::new();
        crc.update(kind);
        crc.update(data);
        out.extend_from_slice(&crc.sum().to_be_bytes());
    }
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut header = Vec::new();
    header.extend_from_slice(&width.to_be_bytes());
    header.extend_from_slice(&height.to_be_bytes());
    header.extend_from_slice(&[8, 2, 0, 0, 0]); // 8-bit RGB
    chunk(&mut out, b"IHDR", &header);
    chunk(
        &mut out,
        b"IDAT",
        &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01],
    );
    chunk(&mut out, b"IEND", &[]);
    out
}

#[test]
fn oversized_and_corrupt_pictures_are_clear_errors() {
    for (width, height) in [(100_000, 100_000), (16_000, 16_000), (30_000, 10)] {
        let err = decode_picture("huge.png", &png_claiming(width, height)).expect_err("too big");
        let text = err.to_string();
        assert!(matches!(err, Error::BadFile { .. }), "{text}");
        assert!(
            text.contains(&format!("{width}×{height}")) && text.contains("too large"),
            "{text}"
        );
    }
    // A CRC error names the chunk in plain words.
    let mut bytes = encode(&clean(&seven(), 32), ImageFormat::Png);
    bytes[20] ^= 0x01; // inside IHDR's data
    let text = decode_picture("crc.png", &bytes)
        .expect_err("bad CRC")
        .to_string();
    assert!(text.contains("crc.png") && text.contains("PNG"), "{text}");
    assert!(!text.contains("ChunkType"), "{text}");
    let text = decode_picture("words.txt", b"hello")
        .expect_err("not a picture")
        .to_string();
    assert!(text.contains("PNG, JPEG, BMP, GIF, WebP or TIFF"), "{text}");
}

fn model_in(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("m.safetensors");
    model_file::save(
        &path,
        &SavedModel {
            network: Network::new(&[16], 3).expect("net"),
            training: TrainingInfo {
                rounds_completed: 1,
                batch_size: 10,
                learning_rate: 1.0,
                seed: 3,
                shuffle: false,
                engine: "cpu".into(),
                data_fingerprint: "sha256:00".into(),
                test_accuracy: None,
                ..TrainingInfo::tutorial(1, 10, 1.0, 3)
            },
            optimizer_state: Default::default(),
        },
    )
    .expect("save");
    path
}

#[test]
fn predict_reports_every_picture_good_or_bad() {
    let dir = tempfile::tempdir().expect("tempdir");
    let model = model_in(dir.path());
    let jpeg = dir.path().join("photo.jpg");
    std::fs::write(&jpeg, encode(&photo(&seven(), 240, 1), ImageFormat::Jpeg)).expect("write");
    let png = dir.path().join("seven.png");
    std::fs::write(&png, encode(&clean(&seven(), 64), ImageFormat::Png)).expect("write");
    let blank = dir.path().join("blank.bmp");
    std::fs::write(
        &blank,
        encode(&RgbImage::from_pixel(20, 20, Rgb(PAPER)), ImageFormat::Bmp),
    )
    .expect("write");
    let huge = dir.path().join("huge.png");
    std::fs::write(&huge, png_claiming(100_000, 100_000)).expect("write");
    let shown = dir.path().join("inputs.png");
    let path = |p: &Path| p.to_str().expect("utf-8").to_string();
    let output = Command::new(env!("CARGO_BIN_EXE_mnist-gpu"))
        .args([
            "predict",
            "--model",
            &path(&model),
            "--show-input",
            &path(&shown),
            &path(&jpeg),
            &path(&blank),
            &path(&huge),
            &path(&png),
        ])
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stdout}{stderr}");
    // The good pictures have their classes, in order; each bad one its own error line.
    let results: Vec<&str> = stdout.lines().filter(|l| l.contains('%')).collect();
    assert!(
        results[0].starts_with(&format!("{}: ", jpeg.display())),
        "{stdout}"
    );
    assert!(
        results[1].starts_with(&format!("{}: ", png.display())),
        "{stdout}"
    );
    assert_eq!(results[0].matches('%').count(), 3, "{stdout}");
    let errors: Vec<&str> = stderr.lines().collect();
    assert_eq!(errors.len(), 2, "{stderr}");
    assert!(errors[0].starts_with("error: ") && errors[0].contains("blank.bmp"));
    assert!(errors[0].contains("blank"), "{stderr}");
    assert!(errors[1].contains("huge.png") && errors[1].contains("100000×100000"));
    assert!(!stderr.contains("memory allocation") && !stderr.contains("panicked"));
    // Two tiles (224 pixels and a caption strip each) for the two good pictures.
    let inputs = image::open(&shown).expect("inputs picture");
    assert_eq!(
        (inputs.width(), inputs.height()),
        (2 * 224 + 2, 224 + mnist_gpu::predict::CAPTION_HEIGHT as u32)
    );
}

/// With real MNIST (MNIST_GPU_DATA), a quickly trained network reads test digits photographed
/// as JPEGs (dark ink on off-white paper) as it reads them as PNGs, in one `predict` call.
#[test]
fn predict_classifies_photographed_jpeg_digits_and_pngs() {
    let Some(data_dir) =
        common::real_mnist_dir("predict_classifies_photographed_jpeg_digits_and_pngs")
    else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let model = dir.path().join("m.safetensors");
    let bin = env!("CARGO_BIN_EXE_mnist-gpu");
    let trained = Command::new(bin)
        .args([
            "train", "--cpu", "--data", &data_dir, "--hidden", "64", "--rounds", "5",
        ])
        .args([
            "--batch-size",
            "100",
            "--save",
            model.to_str().expect("utf-8"),
        ])
        .output()
        .expect("train");
    assert!(trained.status.success());
    let data = mnist_gpu::data::Mnist::load(Path::new(&data_dir)).expect("MNIST");
    const DIGITS: usize = 12;
    let mut args = vec![
        "predict".to_string(),
        "--model".into(),
        model.display().to_string(),
    ];
    let mut labels = Vec::new();
    for i in 0..DIGITS {
        let (digit, label) = (data.test.image(i), data.test.labels[i]);
        let (name, bytes) = if i % 2 == 0 {
            (
                format!("photo-{i}.jpg"),
                encode(&photo(digit, 280, i as u32 + 1), ImageFormat::Jpeg),
            )
        } else {
            (
                format!("clean-{i}.png"),
                encode(&clean(digit, 56), ImageFormat::Png),
            )
        };
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).expect("write");
        args.push(path.display().to_string());
        labels.push(label);
    }
    let output = Command::new(bin).args(&args).output().expect("predict");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    let firsts: Vec<u8> = stdout
        .lines()
        .filter(|l| l.contains(".jpg: ") || l.contains(".png: "))
        .map(|l| {
            l.rsplit(": ")
                .next()
                .and_then(|r| r.bytes().next())
                .expect("class")
                - b'0'
        })
        .collect();
    assert_eq!(firsts.len(), DIGITS, "{stdout}");
    let right = firsts.iter().zip(&labels).filter(|(a, b)| a == b).count();
    let right_jpeg = (0..DIGITS)
        .step_by(2)
        .filter(|&i| firsts[i] == labels[i])
        .count();
    // A 5-round network reads about 9 in 10 test digits; rendering costs a little.
    assert!(right * 4 >= DIGITS * 3, "{right}/{DIGITS}: {stdout}");
    assert!(
        right_jpeg * 3 >= DIGITS,
        "{right_jpeg}/{} JPEGs: {stdout}",
        DIGITS / 2
    );
}
