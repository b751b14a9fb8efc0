//! mnist-gpu in a browser tab: the library's GPU engine, kernels, recipes and model files,
//! compiled to WebAssembly and driven by the page `mnist-gpu serve` shows.
//!
//! The page fetches the four MNIST files and hands them over; a [`Trainer`] holds a
//! [`GpuEngine`] on the browser's WebGPU adapter and steps through the preset's rounds with
//! the same [`Rounds`] plan the command line uses, awaiting every readback (a tab cannot block).
//! Between rounds the page draws what [`Trainer::weight_maps`] and [`Trainer::activations`]
//! render (the pictures `show --weights` and `predict --show-activations` save), classifies
//! drawings in the tab, and saves the model as the command line would.

mod bench;

use std::path::Path;
use std::sync::Arc;

use mnist_gpu::data::{Mnist, Split, split_from_files};
use mnist_gpu::engine::gpu::plan::KernelPlan;
use mnist_gpu::engine::gpu::{AdapterRequest, GpuContext, GpuEngine, LimitsRequest};
use mnist_gpu::export::onnx::to_onnx_bytes;
use mnist_gpu::model::{Network, argmax};
use mnist_gpu::model_file::{self, SavedModel, TrainingInfo, data_fingerprint};
use mnist_gpu::ops::Loss;
use mnist_gpu::predict::{decode_picture, network_input, probabilities, top_classes};
use mnist_gpu::preset::PresetName;
use mnist_gpu::report::activations::activations_picture;
use mnist_gpu::report::weights::{strongest_units, weight_maps};
use mnist_gpu::train::{RoundRecord, Rounds, Schedule};
use serde::Serialize;
use wasm_bindgen::prelude::*;
use web_time::Instant;

/// Panics reach the browser's console with their message.
#[wasm_bindgen(start)]
pub fn start() {
    console_error_panic_hook::set_once();
}

fn fail(e: impl std::fmt::Display) -> JsError {
    JsError::new(&e.to_string())
}

/// The browser's WebGPU device, opened once per page.
#[wasm_bindgen]
pub struct Gpu {
    context: Arc<GpuContext>,
}

#[wasm_bindgen]
impl Gpu {
    /// Opens the adapter the browser picks for the page, with its full limits. `name` names
    /// it where the browser gives no name (the page passes its vendor and architecture).
    pub async fn open(name: String) -> Result<Gpu, JsError> {
        let request = AdapterRequest {
            backends: wgpu::Backends::BROWSER_WEBGPU,
            allow_software: true,
        };
        let mut context = GpuContext::open(request, LimitsRequest::Adapter)
            .await
            .map_err(fail)?;
        if context.info.name.is_empty() {
            context.info.name = name;
        }
        // The engine shares its context by `Arc` (natively across threads); a tab has one.
        #[allow(clippy::arc_with_non_send_sync)]
        let context = Arc::new(context);
        Ok(Gpu { context })
    }

    /// The adapter, as the command line's `engine:` line names it.
    pub fn adapter(&self) -> String {
        self.context.describe()
    }

    /// Times each matrix product's kernel and a round on `train_images` random images (60,000
    /// as `mnist-gpu bench`) at batch 1000 and full batch: `{"text": table, "json": object}`,
    /// the table and object `mnist-gpu bench` and `bench --json` print.
    /// `preset` names the recipe whose network shape is timed.
    pub async fn bench(&self, train_images: usize, preset: &str) -> Result<String, JsError> {
        let network = PresetName::parse(preset)
            .map_err(fail)?
            .preset()
            .network(42)
            .map_err(fail)?;
        let sizes = network.sizes();
        let hidden = sizes.get(1..sizes.len().saturating_sub(1)).unwrap_or(&[]);
        let report = bench::run(&self.context, hidden, train_images.max(1))
            .await
            .map_err(fail)?;
        Ok(serde_json::json!({"text": report.text(), "json": report.json()}).to_string())
    }
}

/// A picture rendered by the library, as the RGBA bytes a canvas's `ImageData` takes.
#[wasm_bindgen]
pub struct Picture {
    width: usize,
    height: usize,
    rgba: Vec<u8>,
}

#[wasm_bindgen]
impl Picture {
    #[wasm_bindgen(getter)]
    pub fn width(&self) -> usize {
        self.width
    }

    #[wasm_bindgen(getter)]
    pub fn height(&self) -> usize {
        self.height
    }

    /// The pixels, row-major RGBA.
    pub fn rgba(&self) -> Vec<u8> {
        self.rgba.clone()
    }
}

impl From<mnist_gpu::report::canvas::Canvas> for Picture {
    fn from(canvas: mnist_gpu::report::canvas::Canvas) -> Self {
        Picture {
            width: canvas.width(),
            height: canvas.height(),
            rgba: canvas.rgba(),
        }
    }
}

/// One round as the page shows it: [`RoundRecord`]'s figures and the schedule's position.
#[derive(Serialize)]
struct RoundReport<'a> {
    #[serde(flatten)]
    record: &'a RoundRecord,
    rounds: usize,
    images: usize,
}

/// A drawing as the network read it.
#[derive(Serialize)]
struct Reading {
    digit: u8,
    probabilities: Vec<f32>,
    outputs: Vec<f32>,
    /// The 28×28 input the network saw, row by row.
    input: Vec<Vec<f32>>,
}

/// A training run in the tab: the preset's network and recipe on the page's GPU.
#[wasm_bindgen]
pub struct Trainer {
    engine: GpuEngine,
    rounds: Rounds,
    info: TrainingInfo,
    train_images: usize,
    test_images: usize,
    /// The parameters as of the last [`Trainer::refresh`].
    network: Network,
}

#[wasm_bindgen]
impl Trainer {
    /// A run of preset `preset` on the four MNIST files as fetched (raw or gzipped), on the
    /// first `images` training images (0: all) for `rounds` rounds (0: the preset's).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        gpu: &Gpu,
        preset: &str,
        train_images: &[u8],
        train_labels: &[u8],
        test_images: &[u8],
        test_labels: &[u8],
        images: usize,
        rounds: usize,
        seed: u32,
    ) -> Result<Trainer, JsError> {
        let (image_stem, label_stem) = Split::Train.stems();
        let mut train = split_from_files(
            Path::new(image_stem),
            train_images,
            Path::new(label_stem),
            train_labels,
        )
        .map_err(fail)?;
        if images > 0 {
            train = train.truncated(images);
        }
        let (image_stem, label_stem) = Split::Test.stems();
        let test = split_from_files(
            Path::new(image_stem),
            test_images,
            Path::new(label_stem),
            test_labels,
        )
        .map_err(fail)?;
        let mut data = Mnist::new(train, test, "the page's data".into());

        let preset = PresetName::parse(preset).map_err(fail)?.preset();
        let rounds = if rounds > 0 { rounds } else { preset.rounds };
        let seed = u64::from(seed);
        let network = preset.network(seed).map_err(fail)?;
        let recipe = preset.recipe(seed, rounds).map_err(fail)?;
        // The fingerprint names the data as fetched; the engine sees it preprocessed.
        let fingerprint = data_fingerprint(&data);
        network.preprocess.apply_to_data(&mut data);
        let context = Arc::clone(&gpu.context);
        let plan = KernelPlan::default_for(&context.info, &context.limits);
        let engine = GpuEngine::with_recipe(
            Arc::clone(&context),
            plan,
            network.clone(),
            &data,
            recipe,
            None,
        )
        .map_err(fail)?;
        let mut info = preset
            .training_info(seed, rounds, context.describe())
            .map_err(fail)?;
        info.data_fingerprint = fingerprint;
        let schedule = Schedule {
            rounds,
            first_round: 1,
            eval_every: 1,
            shuffle: preset.shuffle,
            seed,
            target_accuracy: None,
        };
        Ok(Trainer {
            engine,
            rounds: Rounds::new(schedule, data.train.len()),
            info,
            train_images: data.train.len(),
            test_images: data.test.len(),
            network,
        })
    }

    /// Trains the next round and measures test accuracy; its figures as JSON (`round`, `cost`,
    /// `seconds`, `test_accuracy`, `eval_seconds`, `rounds`, `images`), or `null` when the run
    /// is over. The parameters are read back for the pictures.
    pub async fn round(&mut self) -> Result<String, JsError> {
        let Some((round, order)) = self.rounds.next_round() else {
            return Ok("null".into());
        };
        let start = Instant::now();
        let cost = self.engine.train_round_async(order).await.map_err(fail)?;
        let seconds = start.elapsed().as_secs_f64();
        let eval_start = Instant::now();
        let correct = self.engine.correct_async(Split::Test).await.map_err(fail)?;
        let record = RoundRecord {
            round,
            cost,
            seconds,
            test_accuracy: Some(100.0 * correct as f64 / self.test_images.max(1) as f64),
            validation_accuracy: None,
            eval_seconds: eval_start.elapsed().as_secs_f64(),
        };
        let report = serde_json::to_string(&RoundReport {
            record: &record,
            rounds: self.info.rounds_planned,
            images: self.train_images,
        })
        .map_err(fail)?;
        self.rounds.finish(record);
        self.network = self.engine.network_async().await.map_err(fail)?;
        Ok(report)
    }

    /// The model card of the network as trained so far, as JSON in the shape of the server's
    /// `GET /api/model`: the page shows it once this model reads the pad.
    pub fn card(&self) -> Result<String, JsError> {
        let records = self.rounds.records();
        let info = &self.info;
        serde_json::to_string(&serde_json::json!({
            "layers": self.network.sizes(),
            "activation": self.network.activation.name(),
            "loss": self.network.loss.describe(),
            "rounds": records.last().map_or(0, |r| r.round),
            "batch_size": info.batch_size,
            "learning_rate": info.learning_rate,
            "test_accuracy": records.last().and_then(|r| r.test_accuracy),
            "trained_on": info.engine,
            "probabilities": match self.network.loss {
                Loss::Mse => "the sigmoid outputs divided by their sum",
                Loss::Xent => "the softmax of the outputs",
            },
        }))
        .map_err(fail)
    }

    /// Whether every planned round has run.
    pub fn finished(&self) -> bool {
        self.rounds.is_over()
    }

    /// What runs the maths, as `mnist-gpu train` prints it.
    pub fn engine(&self) -> String {
        self.info.engine.clone()
    }

    /// The first layer's weight maps of the `count` most-used hidden units, strongest first,
    /// `columns` to a row: the picture `mnist-gpu show --weights` saves.
    pub fn weight_maps(&self, count: usize, columns: usize) -> Result<Picture, JsError> {
        let first = &self.network.layers[0];
        let units = strongest_units(&first.weights, first.inputs, count);
        let round = self.rounds.records().last().map_or(0, |r| r.round);
        // Short: the page is as narrow as a phone, and its caption says what the maps are.
        let title = format!("round {round}");
        Ok(weight_maps(&first.weights, &units, columns, &title)
            .map_err(fail)?
            .into())
    }

    /// Classifies a picture of a digit (the pad's PNG) with the network as of the last round,
    /// prepared as `mnist-gpu predict` and the server prepare it; JSON like the server's
    /// `POST /api/predict` answer.
    pub fn classify(&self, picture: &[u8]) -> Result<String, JsError> {
        let input = drawing_input(&self.network, picture)?;
        let outputs = self.network.forward(&input);
        serde_json::to_string(&Reading {
            digit: argmax(&outputs),
            probabilities: probabilities(&outputs),
            input: input.chunks(28).map(<[f32]>::to_vec).collect(),
            outputs,
        })
        .map_err(fail)
    }

    /// The picture of what every layer does with a drawing: the input, each hidden layer's
    /// activations and the outputs (what `predict --show-activations` saves).
    pub fn activations(&self, picture: &[u8]) -> Result<Picture, JsError> {
        let input = drawing_input(&self.network, picture)?;
        let layers = self.network.forward_layers(&input);
        let (digit, p) = top_classes(&self.network, &input, 1)
            .map_err(fail)?
            .first()
            .copied()
            .unwrap_or((0, 0.0));
        let title = format!("the network reads {digit} ({:.0}%)", 100.0 * p);
        Ok(activations_picture(&input, &layers, &title)
            .map_err(fail)?
            .into())
    }

    /// The model as a `.safetensors` file that `mnist-gpu eval --model` loads, with the
    /// rounds run and the last test accuracy recorded.
    pub async fn model_file(&mut self) -> Result<Vec<u8>, JsError> {
        let model = self.saved_model().await?;
        model_file::to_bytes(&model).map_err(fail)
    }

    /// The same model as ONNX, what `mnist-gpu export` writes: preprocessing included, the
    /// model card in its metadata, for ONNX Runtime (docs/onnx.md).
    pub async fn onnx_file(&mut self) -> Result<Vec<u8>, JsError> {
        let model = self.saved_model().await?;
        to_onnx_bytes(&model).map_err(fail)
    }
}

impl Trainer {
    /// The network as trained so far, with the rounds run and the last test accuracy.
    async fn saved_model(&mut self) -> Result<SavedModel, JsError> {
        let mut training = self.info.clone();
        let records = self.rounds.records();
        training.rounds_completed = records.last().map_or(0, |r| r.round);
        training.test_accuracy = records.last().and_then(|r| r.test_accuracy);
        Ok(SavedModel {
            network: self.engine.network_async().await.map_err(fail)?,
            training,
            optimizer_state: self.engine.optimizer_state_async().await.map_err(fail)?,
        })
    }
}

/// What `network` takes for a drawing's picture: MNIST-like, then preprocessed.
fn drawing_input(network: &Network, picture: &[u8]) -> Result<Vec<f32>, JsError> {
    const LABEL: &str = "the drawing";
    let image = decode_picture(LABEL, picture).map_err(fail)?;
    network_input(network, Path::new(LABEL), &image).map_err(fail)
}
