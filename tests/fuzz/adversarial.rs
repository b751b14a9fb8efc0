//! Handcrafted inputs, each a named test: the adversarial pass over the parsers. The tests
//! marked "regression" hold the (minimised) input of something the generators found.

use std::path::Path;

use image::{ExtendedColorType, ImageEncoder};
use mnist_gpu::data::{Split, idx, load_split};
use mnist_gpu::model_file;
use mnist_gpu::predict::decode_picture;
use mnist_gpu::serve::api::{BODY_LIMIT, parse_array};
use serde_json::{Value, json};

use super::alloc;
use super::gzip::gzip;
use super::model::{join, model_bytes, split};
use super::picture::{tiff, vp8l_size_at};

/// `result` is an error whose message is one non-empty line; the message.
fn one_line_error<T>(result: Result<T, impl std::fmt::Display>) -> String {
    let Err(e) = result else { panic!("accepted") };
    let text = e.to_string();
    assert!(
        !text.trim().is_empty() && !text.contains('\n'),
        "not one line: {text:?}"
    );
    text
}

fn read(bytes: &[u8]) -> mnist_gpu::Result<Vec<u8>> {
    idx::read_content(Path::new("adversarial"), bytes)
}

/// IDX header words, big-endian.
fn words(values: &[u32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_be_bytes()).collect()
}

// IDX, raw and gzipped.

#[test]
fn idx_dimensions_whose_product_overflows_u64_are_refused_from_the_header() {
    // 255 dimensions of u32::MAX: the product overflows u64 long before the end.
    let mut bytes = vec![0, 0, 8, 255];
    bytes.extend(words(&[u32::MAX; 255]));
    let message = one_line_error(read(&bytes));
    assert!(message.contains("declares more than"), "{message}");
    let mut images = words(&[2051, u32::MAX, u32::MAX, u32::MAX]);
    images.extend([0; 16]);
    one_line_error(idx::parse_images(Path::new("a"), &images));
}

#[test]
fn idx_label_over_nine_is_refused() {
    let message = one_line_error(idx::parse_labels(
        Path::new("a"),
        &idx::encode_labels(&[3, 10, 2]),
    ));
    assert!(message.contains("label 10"), "{message}");
}

#[test]
fn idx_images_and_labels_of_different_counts_are_refused() {
    let dir = tempfile::tempdir().expect("dir");
    let (images, labels) = Split::Test.stems();
    std::fs::write(
        dir.path().join(images),
        idx::encode_images(3, 28, 28, &[0; 3 * 784]),
    )
    .expect("write");
    std::fs::write(dir.path().join(labels), idx::encode_labels(&[1, 2])).expect("write");
    one_line_error(load_split(dir.path(), Split::Test));
}

#[test]
fn idx_of_only_a_magic_is_truncated() {
    let message = one_line_error(idx::parse_images(Path::new("a"), &words(&[2051])));
    assert!(message.contains("truncated"), "{message}");
}

#[test]
fn idx_gzip_with_trailing_garbage_is_refused() {
    let mut bytes = gzip(&idx::encode_labels(&[1, 2, 3]));
    bytes.extend_from_slice(b"garbage after the member");
    let message = one_line_error(read(&bytes));
    assert!(message.contains("gzip"), "{message}");
}

/// Regression: a gzip file of several members (`cat a.gz b.gz`, parallel compressors) read
/// as its first member only, and the file was called truncated.
#[test]
fn idx_gzip_of_several_members_reads_every_member() {
    let content = idx::encode_labels(&[1, 2, 3, 4, 5, 6, 7]);
    let mut bytes = gzip(&content[..5]);
    bytes.extend(gzip(&content[5..11]));
    bytes.extend(gzip(&content[11..]));
    assert_eq!(read(&bytes).expect("three members"), content);
}

#[test]
fn idx_gzip_bomb_stops_at_the_declared_size() {
    // Ten images declared, 64 MiB of zeros behind them, in about 64 kB of gzip.
    let mut content = idx::encode_images(10, 28, 28, &[]);
    content.resize(16 + (64 << 20), 0);
    let bomb = gzip(&content);
    drop(content);
    alloc::reset_thread();
    let message = one_line_error(
        idx::read_content(Path::new("a"), &bomb[..])
            .and_then(|c| idx::parse_images(Path::new("a"), &c).map(|_| ())),
    );
    assert!(message.contains("longer than"), "{message}");
    assert!(
        alloc::thread_largest() < 1 << 20,
        "{}",
        alloc::thread_largest()
    );
}

/// Regression: the content was read with `read_to_end`, whose doubling allocated up to twice
/// what the header declares (64 MiB for MNIST's 47 MB, 2 GiB for a 1 GiB bomb).
#[test]
fn idx_gzip_content_allocates_no_more_than_it_declares() {
    let count = 50_000;
    let content = idx::encode_images(count, 28, 28, &vec![7; count * 784]);
    let bytes = gzip(&content);
    drop(content);
    alloc::reset_thread();
    let read = read(&bytes).expect("valid");
    let largest = alloc::thread_largest();
    assert_eq!(read.len(), 16 + count * 784);
    assert!(largest <= 16 + count * 784 + 1, "{largest}");
}

#[test]
fn idx_gzip_cut_inside_its_header_is_refused() {
    let bytes = gzip(&idx::encode_labels(&[1]));
    one_line_error(read(&bytes[..6]));
}

#[test]
fn idx_gzip_with_a_wrong_crc_is_refused() {
    let mut bytes = gzip(&idx::encode_labels(&[1, 2, 3]));
    let at = bytes.len() - 8;
    bytes[at] ^= 0xff;
    let message = one_line_error(read(&bytes));
    assert!(message.contains("gzip"), "{message}");
}

// Model files.

fn model() -> Vec<u8> {
    model_bytes(&[3], "sgd")
}

/// The model with its header edited by `edit`.
fn edited(edit: impl FnOnce(&mut Value)) -> Vec<u8> {
    let (mut header, data) = split(&model());
    edit(&mut header);
    join(&serde_json::to_vec(&header).expect("json"), &data)
}

fn from_bytes(bytes: &[u8]) -> mnist_gpu::Result<model_file::SavedModel> {
    model_file::from_bytes(Path::new("m.safetensors"), bytes)
}

fn load(bytes: &[u8]) -> mnist_gpu::Result<model_file::SavedModel> {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("m.safetensors");
    std::fs::write(&path, bytes).expect("write");
    model_file::load(&path)
}

#[test]
fn model_header_length_of_u64_max_is_refused() {
    let mut bytes = model();
    bytes[..8].copy_from_slice(&u64::MAX.to_le_bytes());
    one_line_error(from_bytes(&bytes));
    let message = one_line_error(load(&bytes));
    assert!(message.contains("header"), "{message}");
}

/// Regression: offsets ending at `u64::MAX` overflowed the file length the reader computed
/// (a panic with overflow checks, a wrong "longer than" message without).
#[test]
fn model_offsets_ending_at_u64_max_are_refused_in_plain_words() {
    let bytes = edited(|h| h["layers.0.weight"]["data_offsets"] = json!([0, u64::MAX]));
    let message = one_line_error(load(&bytes));
    assert!(message.contains("more than any file holds"), "{message}");
    one_line_error(from_bytes(&bytes));
}

/// Regression: a 300-byte file whose header declares 2 GB of tensors reserved 2 GB before
/// reading a byte.
#[test]
fn model_small_file_declaring_gigabytes_reserves_only_what_it_holds() {
    let bytes = edited(|h| h["layers.0.weight"]["data_offsets"] = json!([0, 2_000_000_000u64]));
    alloc::reset_thread();
    one_line_error(load(&bytes));
    assert!(
        alloc::thread_largest() < 1 << 20,
        "{}",
        alloc::thread_largest()
    );
}

#[test]
fn model_metadata_of_100_mb_is_refused() {
    let (mut header, data) = split(&model());
    header["__metadata__"]["padding"] = json!("x".repeat(100_000_000));
    let bytes = join(&serde_json::to_vec(&header).expect("json"), &data);
    let message = one_line_error(load(&bytes));
    assert!(message.contains("header"), "{message}");
    one_line_error(from_bytes(&bytes));
}

#[test]
fn model_shape_whose_product_overflows_is_refused() {
    let bytes = edited(|h| h["layers.0.weight"]["shape"] = json!([1u64 << 32, 1u64 << 32, 16]));
    one_line_error(from_bytes(&bytes));
}

#[test]
fn model_overlapping_tensors_are_refused() {
    let bytes =
        edited(|h| h["layers.0.bias"]["data_offsets"] = h["layers.1.bias"]["data_offsets"].clone());
    one_line_error(from_bytes(&bytes));
}

/// A name given twice: JSON keeps the last. The same entry twice reads as once; a second entry
/// that disagrees with the data's layout is refused.
#[test]
fn model_duplicated_tensor_name_with_other_offsets_is_refused() {
    let (header, data) = split(&model());
    let with = |dup: String| {
        let mut text = serde_json::to_vec(&header).expect("json");
        let at = text.len() - 1;
        text.splice(at..at, dup.bytes());
        from_bytes(&join(&text, &data))
    };
    with(format!(",\"layers.1.bias\":{}", header["layers.1.bias"])).expect("the same twice");
    let other = r#","layers.1.bias":{"dtype":"F32","shape":[10],"data_offsets":[0,40]}"#;
    one_line_error(with(other.to_string()));
}

#[test]
fn model_metadata_number_instead_of_text_is_refused() {
    let bytes = edited(|h| h["__metadata__"]["format_version"] = json!(2));
    one_line_error(from_bytes(&bytes));
}

#[test]
fn model_metadata_nan_learning_rate_is_refused() {
    let bytes = edited(|h| h["__metadata__"]["learning_rate"] = json!("NaN"));
    let message = one_line_error(from_bytes(&bytes));
    assert!(message.contains("learning_rate"), "{message}");
}

#[test]
fn model_metadata_nested_a_thousand_deep_is_refused() {
    let (header, data) = split(&model());
    let mut text = serde_json::to_vec(&header).expect("json");
    let deep = format!(
        ",\"__metadata__\":{{\"x\":{}{}}}",
        "[".repeat(1000),
        "]".repeat(1000)
    );
    let at = text.len() - 1;
    text.splice(at..at, deep.bytes());
    one_line_error(from_bytes(&join(&text, &data)));
}

#[test]
fn model_layer_sizes_past_usize_are_refused() {
    let bytes = edited(|h| h["__metadata__"]["layer_sizes"] = json!("784,18446744073709551616,10"));
    let message = one_line_error(from_bytes(&bytes));
    assert!(message.contains("layer_sizes"), "{message}");
}

#[test]
fn model_missing_tensor_is_named() {
    let bytes = edited(|h| {
        h.as_object_mut().expect("object").remove("layers.1.weight");
    });
    let message = one_line_error(from_bytes(&bytes));
    assert!(
        message.contains("layers.1.weight") || message.contains("tensor"),
        "{message}"
    );
}

// Pictures.

fn png_of(width: u32, height: u32, depth: png::BitDepth) -> Vec<u8> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(depth);
    let row = (width as usize * depth as usize).div_ceil(8);
    let data: Vec<u8> = (0..row * height as usize).map(|i| (i * 37) as u8).collect();
    let mut writer = encoder.write_header().expect("header");
    writer.write_image_data(&data).expect("data");
    writer.finish().expect("end");
    out
}

#[test]
fn png_of_1_by_100000_is_refused_as_too_large() {
    let message = one_line_error(decode_picture(
        "p",
        &png_of(1, 100_000, png::BitDepth::Eight),
    ));
    assert!(message.contains("too large"), "{message}");
}

#[test]
fn png_of_16_bits_decodes() {
    let image = decode_picture("p", &png_of(30, 20, png::BitDepth::Sixteen)).expect("16-bit");
    assert_eq!((image.width, image.height), (30, 20));
}

#[test]
fn bmp_of_0_by_0_is_refused() {
    let mut bytes = Vec::new();
    image::codecs::bmp::BmpEncoder::new(&mut bytes)
        .write_image(&[0; 12], 2, 2, ExtendedColorType::Rgb8)
        .expect("bmp");
    bytes[18..26].copy_from_slice(&[0; 8]);
    one_line_error(decode_picture("b", &bytes));
}

#[test]
fn tiff_with_a_huge_strip_count_is_refused_without_allocating_it() {
    let data = vec![128u8; 16];
    let bytes = tiff(
        &[
            (256, 4, vec![4]),
            (257, 4, vec![4]),
            (258, 3, vec![8]),
            (259, 3, vec![1]),
            (262, 3, vec![1]),
            (273, 4, vec![u32::MAX; 1]),
            (277, 3, vec![1]),
            (278, 4, vec![1]),
            (279, 4, vec![4]),
        ],
        &data,
    );
    // The strip offsets' count says 2^28 entries; the file holds one.
    let mut bytes = bytes;
    let count_at = 8 + 2 + 5 * 12 + 4;
    bytes[count_at..count_at + 4].copy_from_slice(&(1u32 << 28).to_le_bytes());
    alloc::reset_thread();
    one_line_error(decode_picture("t", &bytes));
    assert!(
        alloc::thread_largest() < 64 << 20,
        "{}",
        alloc::thread_largest()
    );
}

#[test]
fn tiff_in_cmyk_decodes() {
    let data: Vec<u8> = (0..4 * 4 * 4).map(|i| (i * 13) as u8).collect();
    let entries = |offset: u32| {
        vec![
            (256, 4, vec![4]),
            (257, 4, vec![4]),
            (258, 3, vec![8; 4]),
            (259, 3, vec![1]),
            (262, 3, vec![5]),
            (273, 4, vec![offset]),
            (277, 3, vec![4]),
            (278, 4, vec![4]),
            (279, 4, vec![64]),
        ]
    };
    let offset = tiff(&entries(0), &[]).len() as u32;
    let image = decode_picture("t", &tiff(&entries(offset), &data)).expect("CMYK TIFF");
    assert!(image.values.iter().all(|v| (0.0..=1.0).contains(v)));
}

fn jpeg() -> Vec<u8> {
    let mut out = Vec::new();
    let data: Vec<u8> = (0..23 * 31).map(|i| (i * 7) as u8).collect();
    image::codecs::jpeg::JpegEncoder::new(&mut out)
        .write_image(&data, 31, 23, ExtendedColorType::L8)
        .expect("jpeg");
    out
}

/// Regression: the JPEG decoder's message for a file cut inside its frame header ends with
/// a line break, which reached the one-line error.
#[test]
fn jpeg_cut_inside_its_frame_header_is_one_line() {
    let bytes = jpeg();
    let sof = bytes
        .windows(2)
        .position(|m| m == [0xff, 0xc0])
        .expect("SOF0");
    for end in sof + 2..sof + 12 {
        one_line_error(decode_picture("j", &bytes[..end]));
    }
}

#[test]
fn jpeg_with_a_bogus_quantisation_table_is_refused() {
    let mut bytes = jpeg();
    let dqt = bytes
        .windows(2)
        .position(|m| m == [0xff, 0xdb])
        .expect("DQT");
    // Table id 15 with 16-bit precision, and a length past the end of the file.
    bytes[dqt + 4] = 0x1f;
    bytes[dqt + 2..dqt + 4].copy_from_slice(&0xfff0u16.to_be_bytes());
    one_line_error(decode_picture("j", &bytes));
}

#[test]
fn gif_of_10000_frames_decodes_its_first() {
    let mut bytes = Vec::new();
    {
        let mut encoder = image::codecs::gif::GifEncoder::new_with_speed(&mut bytes, 30);
        let frames = (0..10_000u32).map(|i| {
            image::Frame::new(image::RgbaImage::from_pixel(
                2,
                2,
                image::Rgba([(i % 256) as u8, 0, 0, 255]),
            ))
        });
        encoder.encode_frames(frames).expect("gif");
    }
    let image = decode_picture("g", &bytes).expect("first frame");
    assert_eq!((image.width, image.height), (2, 2));
}

#[test]
fn webp_header_claiming_8193_square_is_refused_before_decoding() {
    let mut bytes = Vec::new();
    image::codecs::webp::WebPEncoder::new_lossless(&mut bytes)
        .write_image(&[9; 12], 2, 2, ExtendedColorType::Rgb8)
        .expect("webp");
    let at = vp8l_size_at(&bytes).expect("VP8L");
    let old = u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4"));
    let new = (old & 0xf000_0000) | 0x2000 | (0x2000 << 14);
    bytes[at..at + 4].copy_from_slice(&new.to_le_bytes());
    alloc::reset_thread();
    let message = one_line_error(decode_picture("w", &bytes));
    assert!(message.contains("too large"), "{message}");
    assert!(alloc::thread_largest() < 1 << 20);
}

// JSON bodies of POST /api/predict.

fn body_error(bytes: &[u8]) -> String {
    let e = parse_array(bytes).expect_err("refused");
    assert_eq!(e.status, 400);
    one_line_error::<()>(Err(e.message))
}

#[test]
fn json_of_a_million_nested_arrays_is_refused() {
    let depth = 1_000_000;
    let text = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    body_error(text.as_bytes());
}

#[test]
fn json_number_1e309_is_refused() {
    let row = format!("[{}1e309]", "0,".repeat(27));
    let text = format!("[{}]", vec![row; 28].join(","));
    body_error(text.as_bytes());
}

#[test]
fn json_body_that_is_not_utf8_is_refused() {
    let mut bytes = b"[[0.5,\"".to_vec();
    bytes.extend([0xff, 0xfe, b'"', b']', b']']);
    body_error(&bytes);
}

#[test]
fn json_array_at_the_body_limit_is_refused() {
    let text = format!("[[{}0]]", "0,".repeat(BODY_LIMIT / 2 - 4));
    assert!(text.len() <= BODY_LIMIT);
    let message = body_error(text.as_bytes());
    assert!(message.contains("28"), "{message}");
}

#[test]
fn json_value_outside_0_1_names_the_value() {
    let row = format!("[{}1.5]", "0,".repeat(27));
    let text = format!("[{}]", vec![row; 28].join(","));
    let message = body_error(text.as_bytes());
    assert!(message.contains("1.5"), "{message}");
}

#[test]
fn idx_gzip_magic_followed_by_noise_is_refused() {
    let mut bytes = vec![0x1f, 0x8b];
    bytes.extend([0x42; 64]);
    one_line_error(read(&bytes));
}
