//! Model files: a valid file (small networks, with and without optimiser state) whose JSON
//! header is edited as JSON: tensors with wrong dtypes, shapes (wrong rank, zero, huge, a
//! product that overflows), offsets (swapped, overlapping, out of range, not numbers), missing,
//! renamed, duplicated or extra tensors; metadata values of the wrong JSON type, huge numbers,
//! `NaN`/`inf` strings, deep nesting, absurd layer sizes; then the header length field and
//! the data length, and sometimes byte mutations. Some cases also go through `load` from a file
//! (the bounded reader).

use std::path::Path;
use std::sync::OnceLock;

use mnist_gpu::model::Network;
use mnist_gpu::model_file::{self, SavedModel, TrainingInfo};
use mnist_gpu::optim::{Optimizer, OptimizerState};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde_json::{Map, Value, json};

use super::harness::{self, Verdict, one_line};
use super::mutate::{maybe_mutate, pick};

/// A valid model file's bytes, its hidden layers and optimiser from the arguments.
pub fn model_bytes(hidden: &[usize], optimizer: &str) -> Vec<u8> {
    let network = Network::new(hidden, 1).expect("net");
    let mut training = TrainingInfo {
        engine: "cpu".into(),
        data_fingerprint: "sha256:00".into(),
        test_accuracy: Some(50.0),
        ..TrainingInfo::tutorial(2, 10, 0.5, 1)
    };
    training.optimizer =
        Optimizer::from_name(optimizer, Optimizer::defaults(optimizer)).expect("optimizer");
    let lens: Vec<usize> = network
        .layers
        .iter()
        .flat_map(|l| [l.weights.len(), l.biases.len()])
        .collect();
    let mut optimizer_state = OptimizerState::new(training.optimizer, &lens);
    optimizer_state.steps = 3;
    let model = SavedModel {
        network,
        training,
        optimizer_state,
    };
    model_file::to_bytes(&model).expect("encode")
}

/// Valid files to start from, split into header JSON and data.
fn seeds() -> &'static [(Value, Vec<u8>)] {
    static SEEDS: OnceLock<Vec<(Value, Vec<u8>)>> = OnceLock::new();
    SEEDS.get_or_init(|| {
        [
            (&[3][..], "sgd"),
            (&[4, 2][..], "sgd"),
            (&[2][..], "momentum"),
            (&[2][..], "adam"),
        ]
        .iter()
        .map(|&(hidden, optimizer)| split(&model_bytes(hidden, optimizer)))
        .collect()
    })
}

/// A safetensors file's header as JSON, and its data.
pub fn split(bytes: &[u8]) -> (Value, Vec<u8>) {
    let n = u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes")) as usize;
    let header = serde_json::from_slice(&bytes[8..8 + n]).expect("header JSON");
    (header, bytes[8 + n..].to_vec())
}

/// A safetensors file from a header text and data.
pub fn join(header: &[u8], data: &[u8]) -> Vec<u8> {
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(header);
    bytes.extend_from_slice(data);
    bytes
}

const DIMS: [u64; 12] = [
    0,
    1,
    2,
    10,
    784,
    1 << 31,
    1 << 32,
    (1 << 32) + 1,
    1 << 62,
    u64::MAX / 2,
    u64::MAX - 1,
    u64::MAX,
];

const DTYPES: [&str; 12] = [
    "F32", "F16", "BF16", "F64", "I8", "U8", "I32", "I64", "BOOL", "F8_E4M3", "f32", "X",
];

/// Metadata values: numbers as text at and past the limits, words, empty.
const TEXTS: [&str; 16] = [
    "",
    "0",
    "-1",
    "1e309",
    "-1e309",
    "NaN",
    "inf",
    "-inf",
    "1e-400",
    "18446744073709551616",
    "340282366920938463463374607431768211456",
    "0.0",
    "true",
    "sgd",
    "adam",
    " 1 ",
];

fn number(rng: &mut ChaCha8Rng) -> Value {
    match rng.random_range(0..5) {
        0 => json!(pick(rng, &DIMS)),
        1 => json!(-(rng.random_range(1..1000i64))),
        2 => json!(rng.random::<f64>() * 1e6),
        3 => json!(pick(rng, &["1", "x"])),
        _ => json!(rng.random_range(0..5000u64)),
    }
}

/// A value of a random JSON type, nested up to `depth`.
fn any_value(rng: &mut ChaCha8Rng, depth: usize) -> Value {
    match rng.random_range(0..7) {
        0 => Value::Null,
        1 => json!(rng.random::<bool>()),
        2 => number(rng),
        3 => json!(pick(rng, &TEXTS)),
        4 if depth > 0 => Value::Array(
            (0..rng.random_range(0..4))
                .map(|_| any_value(rng, depth - 1))
                .collect(),
        ),
        5 if depth > 0 => {
            let mut map = Map::new();
            map.insert("k".into(), any_value(rng, depth - 1));
            Value::Object(map)
        }
        _ => json!(pick(rng, &TEXTS)),
    }
}

/// `[[[…]]]` `depth` deep, as text (serde_json's own values would recurse to print it).
fn nested_text(depth: usize) -> String {
    format!("{}{}", "[".repeat(depth), "]".repeat(depth))
}

/// One semantic edit of the header.
fn edit(rng: &mut ChaCha8Rng, header: &mut Map<String, Value>, data_len: usize) {
    let names: Vec<String> = header
        .keys()
        .filter(|k| *k != "__metadata__")
        .cloned()
        .collect();
    let name = names[rng.random_range(0..names.len())].clone();
    let meta_keys: Vec<String> = header["__metadata__"]
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    match rng.random_range(0..12) {
        0 => header[&name]["dtype"] = json!(pick(rng, &DTYPES)),
        1 => {
            let rank = rng.random_range(0..4);
            header[&name]["shape"] =
                Value::Array((0..rank).map(|_| json!(pick(rng, &DIMS))).collect());
        }
        2 => {
            // Overflowing product, or the element count right but the shape wrong.
            header[&name]["shape"] = match rng.random_range(0..3) {
                0 => json!([1u64 << 32, 1u64 << 32, 16]),
                1 => json!([u64::MAX, 2]),
                _ => json!([1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]),
            }
        }
        3 => {
            let a = rng.random_range(0..=data_len as u64 + 8);
            let b = match rng.random_range(0..4) {
                0 => pick(rng, &DIMS),
                1 => a.saturating_sub(rng.random_range(1..8)),
                _ => rng.random_range(0..=data_len as u64 + 8),
            };
            header[&name]["data_offsets"] = json!([a, b]);
        }
        4 => {
            let other = &names[rng.random_range(0..names.len())];
            header[&name]["data_offsets"] = header[other]["data_offsets"].clone();
        }
        5 => {
            header[&name]["data_offsets"] = match rng.random_range(0..4) {
                0 => json!([-1, 4]),
                1 => json!([0.5, 4]),
                2 => json!(["0", "4"]),
                _ => json!([0, 4, 8]),
            }
        }
        6 => {
            header.remove(&name);
        }
        7 => {
            let tensor = header[&name].clone();
            let new_name = pick(
                rng,
                &[
                    "layers.9.weight",
                    "layers.0.weight ",
                    "optimizer.m1.layers.0.bias",
                    "",
                ],
            );
            header.insert(new_name.to_string(), tensor);
        }
        8 if !meta_keys.is_empty() => {
            let key = &meta_keys[rng.random_range(0..meta_keys.len())];
            header["__metadata__"][key] = any_value(rng, 3);
        }
        9 if !meta_keys.is_empty() => {
            let key = &meta_keys[rng.random_range(0..meta_keys.len())];
            let text = match rng.random_range(0..6) {
                0 => "784,4294967296,10".to_string(),
                1 => "784,18446744073709551615,10".to_string(),
                2 => format!("784,{}10", "1,".repeat(rng.random_range(0..2000))),
                3 => "x".repeat(rng.random_range(0..20_000)),
                _ => pick(rng, &TEXTS).to_string(),
            };
            let key = if rng.random_bool(0.3) {
                "layer_sizes"
            } else {
                key
            };
            header["__metadata__"][key] = json!(text);
        }
        10 => {
            header["__metadata__"] = match rng.random_range(0..4) {
                0 => Value::Null,
                1 => json!([1, 2]),
                2 => json!("metadata"),
                _ => any_value(rng, 4),
            }
        }
        _ => {
            if let Some(meta) = header["__metadata__"].as_object_mut()
                && !meta_keys.is_empty()
            {
                meta.remove(&meta_keys[rng.random_range(0..meta_keys.len())]);
            }
        }
    }
}

/// A generated model file.
pub fn model_case(rng: &mut ChaCha8Rng) -> Vec<u8> {
    let seeds = seeds();
    let (header, data) = &seeds[rng.random_range(0..seeds.len())];
    let mut header = header.as_object().expect("object").clone();
    let mut data = data.clone();
    for _ in 0..rng.random_range(0..=3) {
        edit(rng, &mut header, data.len());
    }
    let mut text = serde_json::to_vec(&Value::Object(header)).expect("json");
    match rng.random_range(0..12) {
        // Text-level edits serde_json's values cannot express.
        0 => {
            let at = text.len() - 1;
            let value = format!(
                r#","__metadata__":{{"x":{}}}"#,
                nested_text(rng.random_range(1..3000))
            );
            text.splice(at..at, value.bytes());
        }
        1 => {
            // A duplicated key: the first tensor again under the same name.
            let dup = br#","layers.0.bias":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}"#;
            let at = text.len() - 1;
            text.splice(at..at, dup.iter().copied());
        }
        2 => text.extend(std::iter::repeat_n(b' ', rng.random_range(1..16))),
        3 => {
            let at = rng.random_range(0..text.len());
            text.insert(at, pick(rng, &[0xff, 0xc3, 0x00, b'"']));
        }
        4 => data.truncate(rng.random_range(0..=data.len())),
        5 => data.extend((0..rng.random_range(1..16)).map(|_| rng.random::<u8>())),
        6 => {
            // A non-finite value in the data.
            let at = rng.random_range(0..data.len() / 4) * 4;
            data[at..at + 4].copy_from_slice(&pick(rng, &[f32::NAN, f32::INFINITY]).to_le_bytes());
        }
        _ => {}
    }
    let mut bytes = join(&text, &data);
    if rng.random_range(0..12) == 0 {
        let n = pick(
            rng,
            &[
                0,
                1,
                7,
                text.len() as u64 - 1,
                text.len() as u64 + 1,
                1 << 40,
                u64::MAX,
            ],
        );
        bytes[..8].copy_from_slice(&n.to_le_bytes());
    }
    maybe_mutate(rng, 0.15, bytes)
}

/// `from_bytes` on the input; an accepted network runs 784 → … → 10 with every weight there.
/// One case in 50 also goes through `load` from a file, which must agree.
pub fn check_model(bytes: &[u8], via_file: bool) -> Result<Verdict, String> {
    let parsed = model_file::from_bytes(Path::new("generated.safetensors"), bytes);
    if via_file {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let path = dir.path().join("m.safetensors");
        std::fs::write(&path, bytes).map_err(|e| e.to_string())?;
        match model_file::load(&path) {
            Ok(loaded) if parsed.as_ref().is_ok_and(|p| *p == loaded) => {}
            Err(e) if parsed.is_err() => {
                one_line(&e)?;
            }
            other => {
                return Err(format!(
                    "load and from_bytes disagree: {:?} vs {:?}",
                    other.map(|_| "ok").map_err(|e| e.to_string()),
                    parsed.as_ref().map(|_| "ok").map_err(ToString::to_string)
                ));
            }
        }
    }
    match parsed {
        Ok(model) => {
            let sizes = model.network.sizes();
            let whole =
                model.network.layers.iter().all(|l| {
                    l.weights.len() == l.inputs * l.outputs && l.biases.len() == l.outputs
                });
            if sizes.first() != Some(&784) || sizes.last() != Some(&10) || !whole {
                return Err(format!("accepted a network of sizes {sizes:?}"));
            }
            Ok(Verdict::Accepted)
        }
        Err(e) => one_line(&e),
    }
}

fn run(base: u64, count: usize) {
    let summary = harness::run(
        "model",
        base,
        count,
        |rng| (model_case(rng), rng.random_range(0..50) == 0),
        |(bytes, _)| bytes,
        |(bytes, via_file)| check_model(bytes, *via_file),
    );
    harness::assert_mixed(&summary, summary.cases / 50);
}

#[test]
fn generated_model_files() {
    run(3_000_000, harness::cases(30_000));
}

#[test]
#[ignore = "100,000 cases: cargo test --release --test fuzz -- --ignored"]
fn generated_model_files_full() {
    run(30_000_000, harness::cases(harness::FULL_CASES));
}
