//! Trained networks on disk: one safetensors file per model.
//!
//! Tensors `layers.{l}.weight` (`[outputs, inputs]`, F32, row-major like [`Layer::weights`])
//! and `layers.{l}.bias` (`[outputs]`), plus a string metadata map saying what the network is
//! (layer sizes, activation, cost) and how it was trained ([`TrainingInfo`]), so a file can be
//! evaluated, used for predictions, or trained further with `--resume`.
//!
//! Loading trusts nothing: every tensor's presence, type and shape is checked, and the layers
//! must chain `784 → … → 10`, so a bad file is one clear [`Error::BadFile`], never a panic.

use std::collections::HashMap;
use std::path::Path;

use safetensors::{Dtype, SafeTensors};
use sha2::{Digest, Sha256};

use crate::atomic_file::write_atomic;
use crate::data::Mnist;
use crate::model::{CLASSES, INPUTS, Layer, Network};
use crate::{Error, Result};

/// The version of the layout described above; bumped when it changes incompatibly.
pub const FORMAT_VERSION: &str = "1";
/// The only activation and cost the engines implement.
pub const ACTIVATION: &str = "sigmoid";
pub const COST: &str = "quadratic";

/// How a saved network was trained.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainingInfo {
    /// Rounds done so far; `--resume` continues with the next one.
    pub rounds_completed: usize,
    pub batch_size: usize,
    pub learning_rate: f32,
    pub seed: u64,
    pub shuffle: bool,
    /// The engine's [`crate::engine::Engine::describe`] line.
    pub engine: String,
    /// [`data_fingerprint`] of the data it was trained on.
    pub data_fingerprint: String,
    /// Test accuracy in percent of the saved weights, when it was measured.
    pub test_accuracy: Option<f64>,
}

/// A network and how it came to be.
#[derive(Clone, Debug, PartialEq)]
pub struct SavedModel {
    pub network: Network,
    pub training: TrainingInfo,
}

/// `sha256:<hex>` over the training images' bytes followed by the training labels' bytes:
/// two files with the same fingerprint trained on the same data in the same order.
pub fn data_fingerprint(data: &Mnist) -> String {
    let mut hasher = Sha256::new();
    hasher.update(&data.train.images);
    hasher.update(&data.train.labels);
    let digest = hasher.finalize();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// Writes `model` to `path` atomically (a reader never sees a half-written model).
pub fn save(path: &Path, model: &SavedModel) -> Result<()> {
    write_atomic(path, &to_bytes(model)?)
}

/// The safetensors bytes of `model`.
pub fn to_bytes(model: &SavedModel) -> Result<Vec<u8>> {
    let mut tensors: Vec<(String, TensorData)> = Vec::new();
    for (l, layer) in model.network.layers.iter().enumerate() {
        tensors.push((
            format!("layers.{l}.weight"),
            TensorData::new(vec![layer.outputs, layer.inputs], &layer.weights),
        ));
        tensors.push((
            format!("layers.{l}.bias"),
            TensorData::new(vec![layer.outputs], &layer.biases),
        ));
    }
    safetensors::serialize(tensors, Some(metadata(model)))
        .map_err(|e| Error::Config(format!("cannot encode the model: {e}")))
}

/// Reads and validates a model file.
pub fn load(path: &Path) -> Result<SavedModel> {
    let size = std::fs::metadata(path)
        .map_err(|e| Error::io(path, e))?
        .len();
    // The bytes and the network read from them are in memory together.
    crate::memory::check(
        &format!("loading the {size}-byte model file {}", path.display()),
        2 * u128::from(size),
    )?;
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    from_bytes(path, &bytes)
}

/// Parses and validates the bytes of a model file; `path` names it in errors.
pub fn from_bytes(path: &Path, bytes: &[u8]) -> Result<SavedModel> {
    let bad = |reason: String| Error::bad_file(path, reason);
    let (_, header) = SafeTensors::read_metadata(bytes)
        .map_err(|e| bad(format!("not a safetensors model file, or truncated ({e})")))?;
    let tensors = SafeTensors::deserialize(bytes)
        .map_err(|e| bad(format!("not a safetensors model file ({e})")))?;
    let meta = header.metadata().clone().unwrap_or_default();
    let text = |key: &str| -> Result<&str> {
        meta.get(key).map(String::as_str).ok_or_else(|| {
            bad(format!(
                "metadata '{key}' is missing: not an mnist-gpu model"
            ))
        })
    };
    let version = text("format_version")?;
    if version != FORMAT_VERSION {
        return Err(bad(format!(
            "model format version {version}, this program reads version {FORMAT_VERSION}"
        )));
    }
    for (key, wanted) in [("activation", ACTIVATION), ("cost", COST)] {
        let found = text(key)?;
        if found != wanted {
            return Err(bad(format!(
                "{key} '{found}' is not supported (only '{wanted}')"
            )));
        }
    }
    let sizes = parse_sizes(text("layer_sizes")?).map_err(&bad)?;
    let network = read_layers(&tensors, &sizes).map_err(&bad)?;
    let training = read_training(&meta).map_err(&bad)?;
    Ok(SavedModel { network, training })
}

/// The metadata map written beside the tensors.
fn metadata(model: &SavedModel) -> HashMap<String, String> {
    let t = &model.training;
    let mut meta: HashMap<String, String> = [
        ("format", "mnist-gpu model".to_string()),
        ("format_version", FORMAT_VERSION.to_string()),
        ("layer_sizes", join_sizes(&model.network.sizes())),
        ("activation", ACTIVATION.to_string()),
        ("cost", COST.to_string()),
        ("rounds_completed", t.rounds_completed.to_string()),
        ("batch_size", t.batch_size.to_string()),
        // `{}` prints the shortest text that parses back to the same f32.
        ("learning_rate", t.learning_rate.to_string()),
        ("seed", t.seed.to_string()),
        ("shuffle", t.shuffle.to_string()),
        ("engine", t.engine.clone()),
        ("data_fingerprint", t.data_fingerprint.clone()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    if let Some(acc) = t.test_accuracy {
        meta.insert("test_accuracy".into(), acc.to_string());
    }
    meta
}

fn join_sizes(sizes: &[usize]) -> String {
    let parts: Vec<String> = sizes.iter().map(usize::to_string).collect();
    parts.join(",")
}

/// `784,128,10` → sizes, checked to start at 784 and end at 10.
fn parse_sizes(text: &str) -> std::result::Result<Vec<usize>, String> {
    let sizes: Vec<usize> = text
        .split(',')
        .map(|s| s.trim().parse::<usize>())
        .collect::<std::result::Result<_, _>>()
        .map_err(|_| format!("layer_sizes '{text}' is not a list of numbers"))?;
    if sizes.len() < 2 || sizes.contains(&0) {
        return Err(format!("layer_sizes '{text}' does not describe a network"));
    }
    if sizes[0] != INPUTS {
        return Err(format!(
            "the network takes {} inputs, not {INPUTS} (28×28 images)",
            sizes[0]
        ));
    }
    let last = sizes[sizes.len() - 1];
    if last != CLASSES {
        return Err(format!(
            "the network has {last} outputs, not {CLASSES} (one per digit)"
        ));
    }
    Ok(sizes)
}

/// The layers named by `sizes`, each tensor checked for type and shape.
fn read_layers(tensors: &SafeTensors<'_>, sizes: &[usize]) -> std::result::Result<Network, String> {
    let expected = 2 * (sizes.len() - 1);
    if tensors.len() != expected {
        return Err(format!(
            "{} tensors, but layer_sizes {} needs {expected}",
            tensors.len(),
            join_sizes(sizes)
        ));
    }
    let layers = sizes
        .windows(2)
        .enumerate()
        .map(|(l, pair)| {
            let (inputs, outputs) = (pair[0], pair[1]);
            Ok(Layer {
                inputs,
                outputs,
                weights: read_f32(tensors, &format!("layers.{l}.weight"), &[outputs, inputs])?,
                biases: read_f32(tensors, &format!("layers.{l}.bias"), &[outputs])?,
            })
        })
        .collect::<std::result::Result<_, String>>()?;
    Ok(Network { layers })
}

/// The values of an F32 tensor that must have `shape`.
fn read_f32(
    tensors: &SafeTensors<'_>,
    name: &str,
    shape: &[usize],
) -> std::result::Result<Vec<f32>, String> {
    let view = tensors
        .tensor(name)
        .map_err(|_| format!("tensor '{name}' is missing"))?;
    if view.dtype() != Dtype::F32 {
        return Err(format!("tensor '{name}' is {:?}, not F32", view.dtype()));
    }
    if view.shape() != shape {
        return Err(format!(
            "tensor '{name}' has shape {:?}, but the layer sizes need {shape:?}",
            view.shape()
        ));
    }
    let values: Vec<f32> = view
        .data()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    if let Some(bad) = values.iter().position(|v| !v.is_finite()) {
        return Err(format!("tensor '{name}' holds a non-finite value at {bad}"));
    }
    Ok(values)
}

fn read_training(meta: &HashMap<String, String>) -> std::result::Result<TrainingInfo, String> {
    fn field<T: std::str::FromStr>(
        meta: &HashMap<String, String>,
        key: &str,
    ) -> std::result::Result<T, String> {
        let text = meta
            .get(key)
            .ok_or_else(|| format!("metadata '{key}' is missing"))?;
        text.parse()
            .map_err(|_| format!("metadata '{key}' has a bad value '{text}'"))
    }
    let test_accuracy = match meta.get("test_accuracy") {
        Some(_) => Some(field::<f64>(meta, "test_accuracy")?),
        None => None,
    };
    let batch_size: usize = field(meta, "batch_size")?;
    let learning_rate: f32 = field(meta, "learning_rate")?;
    if batch_size == 0 || !(learning_rate.is_finite() && learning_rate > 0.0) {
        return Err(format!(
            "metadata batch_size {batch_size} / learning_rate {learning_rate} cannot train"
        ));
    }
    Ok(TrainingInfo {
        rounds_completed: field(meta, "rounds_completed")?,
        batch_size,
        learning_rate,
        seed: field(meta, "seed")?,
        shuffle: field(meta, "shuffle")?,
        engine: field(meta, "engine")?,
        data_fingerprint: field(meta, "data_fingerprint")?,
        test_accuracy,
    })
}

/// An F32 tensor to serialise, borrowing its values as little-endian bytes.
struct TensorData {
    shape: Vec<usize>,
    bytes: Vec<u8>,
}

impl TensorData {
    fn new(shape: Vec<usize>, values: &[f32]) -> Self {
        let bytes = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        TensorData { shape, bytes }
    }
}

impl safetensors::View for TensorData {
    fn dtype(&self) -> Dtype {
        Dtype::F32
    }

    fn shape(&self) -> &[usize] {
        &self.shape
    }

    fn data(&self) -> std::borrow::Cow<'_, [u8]> {
        std::borrow::Cow::Borrowed(&self.bytes)
    }

    fn data_len(&self) -> usize {
        self.bytes.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model() -> SavedModel {
        SavedModel {
            network: Network::new(&[8, 4], 3).expect("net"),
            training: TrainingInfo {
                rounds_completed: 7,
                batch_size: 100,
                learning_rate: 0.3,
                seed: 3,
                shuffle: true,
                engine: "cpu: test".into(),
                data_fingerprint: "sha256:00".into(),
                test_accuracy: Some(91.25),
            },
        }
    }

    #[test]
    fn bytes_round_trip() {
        let m = model();
        let bytes = to_bytes(&m).expect("encode");
        assert_eq!(from_bytes(Path::new("m"), &bytes).expect("decode"), m);
    }

    #[test]
    fn every_truncation_is_an_error() {
        let bytes = to_bytes(&model()).expect("encode");
        for len in [0, 7, 8, 20, bytes.len() / 2, bytes.len() - 1] {
            let err = from_bytes(Path::new("m"), &bytes[..len]);
            assert!(matches!(err, Err(Error::BadFile { .. })), "length {len}");
        }
    }

    #[test]
    fn sizes_must_start_at_784_and_end_at_10() {
        assert!(parse_sizes("784,16,10").is_ok());
        assert!(parse_sizes("783,16,10").is_err());
        assert!(parse_sizes("784,16,9").is_err());
        assert!(parse_sizes("784").is_err());
        assert!(parse_sizes("784,0,10").is_err());
        assert!(parse_sizes("784,x,10").is_err());
    }
}
