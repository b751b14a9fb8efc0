//! Trained networks on disk: one safetensors file per model.
//!
//! Tensors `layers.{l}.weight` (`[outputs, inputs]`, F32, row-major like [`Layer::weights`])
//! and `layers.{l}.bias` (`[outputs]`), plus a string metadata map saying what the network is
//! (layer sizes, activation, cost) and how it was trained ([`TrainingInfo`]: init, optimiser,
//! schedule, dropout, ...), so a file can be evaluated, used for predictions, or trained further
//! with `--resume`. Optimisers with state add its moments as `optimizer.m1.layers.{l}.weight`
//! (and `.bias`, and `m2` for Adam's second moment) and the step count as metadata, so a resumed
//! run continues exactly like an uninterrupted one.
//!
//! Version 1 files (the tutorial's sigmoid network trained by SGD, before these fields existed)
//! still load: every field they lack has the tutorial's value.
//!
//! Loading trusts nothing: every tensor's presence, type and shape is checked, and the layers
//! must chain `784 → … → 10`, so a bad file is one clear [`Error::BadFile`], never a panic.

use std::collections::HashMap;
use std::path::Path;

use safetensors::{Dtype, SafeTensors};
use sha2::{Digest, Sha256};

use crate::atomic_file::write_atomic;
use crate::data::Mnist;
use crate::model::{Architecture, CLASSES, INPUTS, Layer, Network};
use crate::ops::augment::{Augment, InputNoise};
use crate::ops::{Activation, Dropout, Init, Loss, Preprocess};
use crate::optim::{LrSchedule, Optimizer, OptimizerSettings, OptimizerState};
use crate::{Error, Result};

/// The version of the layout described above; bumped when it changes incompatibly.
pub const FORMAT_VERSION: &str = "2";
/// Versions this program reads.
pub const READABLE_VERSIONS: [&str; 2] = ["1", "2"];

/// The `cost` metadata of each loss (version 1 wrote `quadratic`).
fn cost_name(loss: Loss) -> &'static str {
    match loss {
        Loss::Mse => "quadratic",
        Loss::Xent => "cross-entropy",
    }
}

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
    /// [`data_fingerprint`] of the training split as stored, before any hold-out.
    pub data_fingerprint: String,
    /// How many of the split's last images were held out for validation (not trained on).
    pub validation: usize,
    /// Test accuracy in percent of the saved weights, when it was measured.
    pub test_accuracy: Option<f64>,
    pub init: Init,
    pub optimizer: Optimizer,
    pub schedule: LrSchedule,
    /// Rounds of linear learning-rate warm-up.
    pub warmup: f64,
    /// The last round the run was planned for (where a cosine schedule ends).
    pub rounds_planned: usize,
    /// Dropout rate on hidden layers.
    pub dropout: f32,
    /// The bound on each unit's incoming weights' L2 norm (0: none).
    pub max_norm: f32,
    /// Distortions and input dropout of the training images.
    pub noise: InputNoise,
}

impl TrainingInfo {
    /// The tutorial's training (uniform init, constant-rate SGD, no dropout) with the given
    /// basics; the other fields as version 1 files imply.
    pub fn tutorial(
        rounds_completed: usize,
        batch_size: usize,
        learning_rate: f32,
        seed: u64,
    ) -> Self {
        TrainingInfo {
            rounds_completed,
            batch_size,
            learning_rate,
            seed,
            shuffle: false,
            engine: String::new(),
            data_fingerprint: String::new(),
            validation: 0,
            test_accuracy: None,
            init: Init::Uniform,
            optimizer: Optimizer::default(),
            schedule: LrSchedule::Constant,
            warmup: 0.0,
            rounds_planned: rounds_completed,
            dropout: 0.0,
            max_norm: 0.0,
            noise: InputNoise::default(),
        }
    }
}

/// A network, how it came to be, and its optimiser's state.
#[derive(Clone, Debug, PartialEq)]
pub struct SavedModel {
    pub network: Network,
    pub training: TrainingInfo,
    pub optimizer_state: OptimizerState,
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

/// Writes `model` to `path` atomically (a reader never sees a half-written model). A model
/// that [`load`] would refuse is refused here, before the file is touched.
pub fn save(path: &Path, model: &SavedModel) -> Result<()> {
    write_atomic(path, &to_bytes(model)?)
}

/// The safetensors bytes of `model`, once [`check_model`] accepts it.
pub fn to_bytes(model: &SavedModel) -> Result<Vec<u8>> {
    check_model(model).map_err(|e| Error::Config(format!("cannot save the model: {e}")))?;
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
    let state = &model.optimizer_state;
    for (moment, slots) in [("m1", &state.first), ("m2", &state.second)] {
        for (slot, values) in slots.iter().enumerate() {
            let (l, layer) = (slot / 2, &model.network.layers[slot / 2]);
            let (kind, shape) = if slot % 2 == 0 {
                ("weight", vec![layer.outputs, layer.inputs])
            } else {
                ("bias", vec![layer.outputs])
            };
            tensors.push((
                format!("optimizer.{moment}.layers.{l}.{kind}"),
                TensorData::new(shape, values),
            ));
        }
    }
    safetensors::serialize(tensors, Some(metadata(model)))
        .map_err(|e| Error::Config(format!("cannot encode the model: {e}")))
}

/// Reads and validates a model file.
pub fn load(path: &Path) -> Result<SavedModel> {
    let bytes = read_bounded(path)?;
    from_bytes(path, &bytes)
}

/// The most header a model file may declare (safetensors itself refuses more than 100 MB).
const MAX_HEADER_BYTES: u64 = 100_000_000;

/// Reads a safetensors file no further than its own header says it reaches: the 8-byte header
/// length, the header, then the tensors' bytes up to the largest end offset the header
/// declares (and one byte more, so a longer file is caught by the parser). A device that
/// never ends (`/dev/zero`), a huge sparse file or a lying header costs at most what it
/// declares, checked against memory first, never the file's size.
fn read_bounded(path: &Path) -> Result<Vec<u8>> {
    use std::io::Read;
    let bad = |reason: String| Error::bad_file(path, reason);
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let file_len = file.metadata().map_or(0, |m| m.len());
    let mut reader = std::io::BufReader::new(file);
    let mut length = [0u8; 8];
    reader.read_exact(&mut length).map_err(|e| match e.kind() {
        std::io::ErrorKind::UnexpectedEof => {
            bad("not a safetensors model file, or truncated (under 8 bytes)".into())
        }
        _ => Error::io(path, e),
    })?;
    let header_len = u64::from_le_bytes(length);
    if !(2..=MAX_HEADER_BYTES).contains(&header_len) {
        return Err(bad(format!(
            "not a safetensors model file (its first 8 bytes declare a {header_len}-byte header)"
        )));
    }
    let mut header = vec![0u8; header_len as usize];
    reader.read_exact(&mut header).map_err(|e| match e.kind() {
        std::io::ErrorKind::UnexpectedEof => bad("truncated inside its header".into()),
        _ => Error::io(path, e),
    })?;
    let declared: serde_json::Value = serde_json::from_slice(&header)
        .map_err(|e| bad(format!("not a safetensors model file (its header: {e})")))?;
    let data_len = declared
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(key, _)| *key != "__metadata__")
        .filter_map(|(_, tensor)| tensor["data_offsets"][1].as_u64())
        .max()
        .unwrap_or(0);
    let total = declared_total(header_len, data_len).ok_or_else(|| {
        bad(format!(
            "its header declares {data_len} bytes of tensor data, more than any file holds"
        ))
    })?;
    // The bytes and the network read from them are in memory together.
    crate::memory::check(
        &format!("loading the {total}-byte model file {}", path.display()),
        2 * u128::from(total),
    )?;
    let mut bytes = Vec::with_capacity(first_capacity(total, file_len));
    bytes.extend_from_slice(&length);
    bytes.extend_from_slice(&header);
    reader
        .take(data_len + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(path, e))?;
    if bytes.len() as u64 > total {
        return Err(bad(format!(
            "longer than the {total} bytes its header declares: damaged, or not a model file"
        )));
    }
    Ok(bytes)
}

/// The length of a file whose header is `header_len` bytes and whose tensors end at
/// `data_len`: `None` when that does not fit in a `u64` (a header's offsets can say anything).
fn declared_total(header_len: u64, data_len: u64) -> Option<u64> {
    // One below the maximum: the reader asks for one byte past the end.
    8u64.checked_add(header_len)?
        .checked_add(data_len)
        .filter(|&total| total < u64::MAX)
}

/// What to reserve before reading a file that declares `total` bytes: no more than the file
/// holds (a small file whose header declares gigabytes costs what it holds; a device that
/// reports no size grows the buffer as it reads).
fn first_capacity(total: u64, file_len: u64) -> usize {
    usize::try_from(total.min(file_len.saturating_add(1))).unwrap_or(usize::MAX)
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
    if !READABLE_VERSIONS.contains(&version) {
        return Err(bad(format!(
            "model format version {version}, this program reads versions {}",
            READABLE_VERSIONS.join(" and ")
        )));
    }
    let activation =
        Activation::parse(text("activation")?).map_err(|e| bad(format!("activation: {e}")))?;
    let cost = text("cost")?;
    let Some(loss) = Loss::ALL.into_iter().find(|&l| cost_name(l) == cost) else {
        return Err(bad(format!(
            "cost '{cost}' is not supported (quadratic or cross-entropy)"
        )));
    };
    // Files from before preprocessing existed saw the images as they are.
    let preprocess = match meta.get("preprocess") {
        Some(name) => Preprocess::parse(name).map_err(|e| bad(format!("preprocess: {e}")))?,
        None => Preprocess::None,
    };
    let arch = Architecture {
        activation,
        loss,
        preprocess,
    };
    let sizes = parse_sizes(text("layer_sizes")?).map_err(&bad)?;
    let training = read_training(&meta).map_err(&bad)?;
    let network = read_layers(&tensors, &sizes, arch).map_err(&bad)?;
    let optimizer_state =
        read_optimizer_state(&tensors, &meta, &network, training.optimizer).map_err(&bad)?;
    let model = SavedModel {
        network,
        training,
        optimizer_state,
    };
    check_model(&model).map_err(&bad)?;
    let (network, training, optimizer_state) =
        (model.network, model.training, model.optimizer_state);
    let expected =
        2 * network.layers.len() + optimizer_state.first.len() + optimizer_state.second.len();
    if tensors.len() != expected {
        return Err(bad(format!(
            "{} tensors, but layer_sizes {} with optimizer {} needs {expected}",
            tensors.len(),
            join_sizes(&sizes),
            training.optimizer.name()
        )));
    }
    Ok(SavedModel {
        network,
        training,
        optimizer_state,
    })
}

/// The most steps one round can take: one per image, and an IDX file counts its images in 32
/// bits.
pub const MAX_STEPS_PER_ROUND: u64 = u32::MAX as u64;

/// What saving and loading both require of a model, so a file [`save`] writes always loads:
/// finite weights and biases, optimiser moments that fit the network and are finite (second
/// moments, running means of squares, at least 0), and a step count a run of
/// `rounds_completed` rounds could have taken.
pub fn check_model(model: &SavedModel) -> std::result::Result<(), String> {
    if let Some(what) = crate::train::non_finite_parameter(&model.network) {
        return Err(format!("{what}: not a finite number"));
    }
    let state = &model.optimizer_state;
    let optimizer = model.training.optimizer;
    state
        .check(optimizer, &crate::engine::tensor_lens(&model.network))
        .map_err(|e| e.to_string())?;
    for (moment, slots) in [("first", &state.first), ("second", &state.second)] {
        for (slot, values) in slots.iter().enumerate() {
            let wrong = values
                .iter()
                .find(|v| !v.is_finite() || (moment == "second" && **v < 0.0));
            if let Some(v) = wrong {
                return Err(format!(
                    "the optimiser's {moment} moment of layer {} holds {v}",
                    slot / 2 + 1
                ));
            }
        }
    }
    let most = (model.training.rounds_completed as u64).saturating_mul(MAX_STEPS_PER_ROUND);
    if state.steps > most {
        return Err(format!(
            "optimizer_steps {} is more than {} rounds can take",
            state.steps, model.training.rounds_completed
        ));
    }
    Ok(())
}

/// The optimiser's moments and step count (none for plain SGD).
fn read_optimizer_state(
    tensors: &SafeTensors<'_>,
    meta: &HashMap<String, String>,
    net: &Network,
    optimizer: Optimizer,
) -> std::result::Result<OptimizerState, String> {
    let steps = match meta.get("optimizer_steps") {
        Some(text) => text
            .parse()
            .map_err(|_| format!("metadata 'optimizer_steps' has a bad value '{text}'"))?,
        None => 0,
    };
    let read_moment = |moment: &str| -> std::result::Result<Vec<Vec<f32>>, String> {
        let mut slots = Vec::new();
        for (l, layer) in net.layers.iter().enumerate() {
            slots.push(read_f32(
                tensors,
                &format!("optimizer.{moment}.layers.{l}.weight"),
                &[layer.outputs, layer.inputs],
            )?);
            slots.push(read_f32(
                tensors,
                &format!("optimizer.{moment}.layers.{l}.bias"),
                &[layer.outputs],
            )?);
        }
        Ok(slots)
    };
    let moments = optimizer.moments();
    Ok(OptimizerState {
        steps,
        first: if moments >= 1 {
            read_moment("m1")?
        } else {
            Vec::new()
        },
        second: if moments >= 2 {
            read_moment("m2")?
        } else {
            Vec::new()
        },
    })
}

/// The metadata map written beside the tensors: what the network is and how it was trained.
pub fn metadata(model: &SavedModel) -> HashMap<String, String> {
    let t = &model.training;
    let mut meta: HashMap<String, String> = [
        ("format", "mnist-gpu model".to_string()),
        ("format_version", FORMAT_VERSION.to_string()),
        ("layer_sizes", join_sizes(&model.network.sizes())),
        ("activation", model.network.activation.name().to_string()),
        ("cost", cost_name(model.network.loss).to_string()),
        ("preprocess", model.network.preprocess.name().to_string()),
        ("init", t.init.name().to_string()),
        ("optimizer", t.optimizer.name().to_string()),
        ("optimizer_steps", model.optimizer_state.steps.to_string()),
        ("lr_schedule", t.schedule.name().to_string()),
        ("warmup", t.warmup.to_string()),
        ("rounds_planned", t.rounds_planned.to_string()),
        ("dropout", t.dropout.to_string()),
        ("max_norm", t.max_norm.to_string()),
        ("input_dropout", t.noise.dropout.rate.to_string()),
        ("augment_shift", t.noise.augment.shift.to_string()),
        ("augment_rotate", t.noise.augment.rotate.to_string()),
        ("augment_scale", t.noise.augment.scale.to_string()),
        ("augment_elastic", t.noise.augment.elastic.to_string()),
        ("rounds_completed", t.rounds_completed.to_string()),
        ("batch_size", t.batch_size.to_string()),
        // `{}` prints the shortest text that parses back to the same f32.
        ("learning_rate", t.learning_rate.to_string()),
        ("seed", t.seed.to_string()),
        ("shuffle", t.shuffle.to_string()),
        ("engine", t.engine.clone()),
        ("data_fingerprint", t.data_fingerprint.clone()),
        ("validation", t.validation.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    if let Some(acc) = t.test_accuracy {
        meta.insert("test_accuracy".into(), acc.to_string());
    }
    let s = t.optimizer.settings();
    let mut put = |key: &str, value: String| {
        meta.insert(key.into(), value);
    };
    for setting in t.optimizer.reads() {
        put(setting.key(), setting.value(&s));
    }
    if let LrSchedule::Step { every, gamma } = t.schedule {
        put("lr_step_rounds", every.to_string());
        put("lr_gamma", gamma.to_string());
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
fn read_layers(
    tensors: &SafeTensors<'_>,
    sizes: &[usize],
    arch: Architecture,
) -> std::result::Result<Network, String> {
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
    Ok(Network::from_layers(layers, arch))
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
    /// A field that version 1 files lack: `default` when absent.
    fn optional<T: std::str::FromStr>(
        meta: &HashMap<String, String>,
        key: &str,
        default: T,
    ) -> std::result::Result<T, String> {
        match meta.get(key) {
            Some(_) => field(meta, key),
            None => Ok(default),
        }
    }
    let test_accuracy = match meta.get("test_accuracy") {
        Some(_) => Some(field::<f64>(meta, "test_accuracy")?),
        None => None,
    };
    let named = |key: &str, default: &str| -> String {
        meta.get(key)
            .cloned()
            .unwrap_or_else(|| default.to_string())
    };
    let init = Init::parse(&named("init", "uniform")).map_err(|e| e.to_string())?;
    let name = named("optimizer", "sgd");
    let d = Optimizer::defaults(&name);
    let settings = OptimizerSettings {
        momentum: optional(meta, "momentum", d.momentum)?,
        nesterov: optional(meta, "nesterov", d.nesterov)?,
        beta1: optional(meta, "beta1", d.beta1)?,
        beta2: optional(meta, "beta2", d.beta2)?,
        eps: optional(meta, "eps", d.eps)?,
        weight_decay: optional(meta, "weight_decay", d.weight_decay)?,
    };
    let optimizer = Optimizer::from_name(&name, settings).map_err(|e| e.to_string())?;
    let schedule = LrSchedule::from_name(
        &named("lr_schedule", "constant"),
        optional(meta, "lr_step_rounds", 1)?,
        optional(meta, "lr_gamma", 0.1)?,
    )
    .map_err(|e| e.to_string())?;
    let warmup: f64 = optional(meta, "warmup", 0.0)?;
    let dropout: f32 = optional(meta, "dropout", 0.0)?;
    let max_norm: f32 = optional(meta, "max_norm", 0.0)?;
    let input_dropout = Dropout::new(optional(meta, "input_dropout", 0.0)?)
        .map_err(|_| "metadata input_dropout cannot train".to_string())?;
    let augment = Augment::new(
        optional(meta, "augment_shift", 0.0)?,
        optional(meta, "augment_rotate", 0.0)?,
        optional(meta, "augment_scale", 0.0)?,
        optional(meta, "augment_elastic", 0.0)?,
    )
    .map_err(|e| format!("metadata: {e}"))?;
    if !(max_norm.is_finite() && max_norm >= 0.0) {
        return Err(format!("metadata max_norm {max_norm} cannot train"));
    }
    if !(warmup.is_finite() && warmup >= 0.0 && (0.0..1.0).contains(&dropout)) {
        return Err(format!(
            "metadata warmup {warmup} / dropout {dropout} cannot train"
        ));
    }
    let rounds_completed: usize = field(meta, "rounds_completed")?;
    let batch_size: usize = field(meta, "batch_size")?;
    let learning_rate: f32 = field(meta, "learning_rate")?;
    if batch_size == 0 || !(learning_rate.is_finite() && learning_rate > 0.0) {
        return Err(format!(
            "metadata batch_size {batch_size} / learning_rate {learning_rate} cannot train"
        ));
    }
    Ok(TrainingInfo {
        rounds_completed,
        batch_size,
        learning_rate,
        seed: field(meta, "seed")?,
        shuffle: field(meta, "shuffle")?,
        engine: field(meta, "engine")?,
        data_fingerprint: field(meta, "data_fingerprint")?,
        validation: optional(meta, "validation", 0)?,
        test_accuracy,
        init,
        optimizer,
        schedule,
        warmup,
        rounds_planned: optional(meta, "rounds_planned", rounds_completed)?,
        dropout,
        max_norm,
        noise: InputNoise {
            augment,
            dropout: input_dropout,
        },
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
                ..TrainingInfo::tutorial(7, 100, 0.3, 3)
            },
            optimizer_state: OptimizerState::default(),
        }
    }

    #[test]
    fn adam_state_and_recipe_round_trip() {
        let mut m = model();
        m.network.activation = Activation::Relu;
        m.network.loss = Loss::Xent;
        m.training.init = Init::He;
        m.training.optimizer = Optimizer::AdamW(crate::optim::AdamW {
            adam: crate::optim::Adam {
                beta1: 0.8,
                beta2: 0.99,
                eps: 1e-7,
            },
            weight_decay: 0.05,
        });
        m.training.schedule = LrSchedule::Step {
            every: 3,
            gamma: 0.5,
        };
        m.training.warmup = 0.5;
        m.training.rounds_planned = 12;
        m.training.dropout = 0.2;
        let lens: Vec<usize> = m
            .network
            .layers
            .iter()
            .flat_map(|l| [l.weights.len(), l.biases.len()])
            .collect();
        let mut state = OptimizerState::new(m.training.optimizer, &lens);
        state.steps = 1234;
        for (i, x) in state
            .first
            .iter_mut()
            .chain(&mut state.second)
            .flatten()
            .enumerate()
        {
            *x = i as f32 * 1e-3;
        }
        m.optimizer_state = state;
        let bytes = to_bytes(&m).expect("encode");
        assert_eq!(from_bytes(Path::new("m"), &bytes).expect("decode"), m);
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
