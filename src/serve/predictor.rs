//! One classifier shared by every request: a worker thread owns it (an engine, built there, or
//! the plain forward pass) and serves a bounded queue, taking every request waiting at that
//! moment as one batch.
//!
//! Requests never touch the network directly, so any number of connections can ask at once
//! without locks around the maths; a full queue answers "busy" at once instead of piling up.

use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::thread::JoinHandle;

use tokio::sync::oneshot;

use crate::engine::{Inference, Pixels};
use crate::model::{CLASSES, INPUTS, Network};
use crate::{Error, Result};

/// Requests waiting for the worker beyond this are refused as busy.
pub const QUEUE_DEPTH: usize = 256;
/// The most requests one batch takes from the queue.
pub const MAX_BATCH: usize = 64;

/// What turns network inputs into output vectors.
pub trait Classify {
    /// What runs the maths, for the model card (e.g. `cpu: plain f32 forward pass`).
    fn describe(&self) -> String;
    /// Output vectors (`CLASSES` each, concatenated) of `inputs`, `INPUTS` values per image.
    fn outputs(&mut self, inputs: &[f32]) -> Result<Vec<f32>>;
}

/// The network's plain forward pass ([`Network::forward`]), the code `mnist-gpu predict` runs:
/// bit for bit the command line's numbers. The binary serves through [`EngineClassifier`]
/// instead (16× faster on the CPU engine); this one is the reference the tests compare with.
pub struct NetworkClassifier {
    network: Network,
}

impl NetworkClassifier {
    pub fn new(network: Network) -> Self {
        NetworkClassifier { network }
    }
}

impl Classify for NetworkClassifier {
    fn describe(&self) -> String {
        "cpu: the network's f32 forward pass, one worker thread".to_string()
    }

    fn outputs(&mut self, inputs: &[f32]) -> Result<Vec<f32>> {
        Ok(inputs
            .chunks_exact(INPUTS)
            .flat_map(|image| self.network.forward(image))
            .collect())
    }
}

/// A forward-only engine ([`crate::engine::cpu::CpuInference`] or
/// [`crate::engine::gpu::inference::GpuInference`], chosen by the same rules as `eval`) running
/// the forward pass of the pictures sent.
pub struct EngineClassifier {
    engine: Box<dyn Inference>,
}

impl EngineClassifier {
    pub fn new(engine: Box<dyn Inference>) -> Self {
        EngineClassifier { engine }
    }
}

impl Classify for EngineClassifier {
    fn describe(&self) -> String {
        self.engine.describe()
    }

    fn outputs(&mut self, inputs: &[f32]) -> Result<Vec<f32>> {
        self.engine.outputs(Pixels::Values(inputs))
    }
}

pub use crate::predict::probabilities;

struct Job {
    input: Vec<f32>,
    reply: oneshot::Sender<Result<Vec<f32>>>,
}

/// The handle requests use; cloning it shares the one worker.
#[derive(Clone)]
pub struct Predictor {
    jobs: SyncSender<Job>,
    describe: String,
}

/// Why a prediction did not come back.
#[derive(Debug, thiserror::Error)]
pub enum PredictError {
    #[error("the server is busy: {QUEUE_DEPTH} predictions are already waiting")]
    Busy,
    #[error("the classifier has stopped")]
    Stopped,
    #[error("{0}")]
    Failed(Error),
}

impl Predictor {
    /// Starts the worker thread that owns `classifier`. The thread ends when every
    /// [`Predictor`] clone is dropped; the handle returned lets the caller wait for it.
    pub fn start(
        classifier: impl Classify + Send + 'static,
    ) -> Result<(Predictor, JoinHandle<()>)> {
        Predictor::start_with(move || Ok(classifier))
    }

    /// Like [`Predictor::start`], with the classifier built on the worker thread by `make`
    /// (engines need not be `Send`); fails with `make`'s error.
    pub fn start_with<C: Classify>(
        make: impl FnOnce() -> std::result::Result<C, String> + Send + 'static,
    ) -> Result<(Predictor, JoinHandle<()>)> {
        let (jobs, queue) = sync_channel(QUEUE_DEPTH);
        let (ready, built) = std::sync::mpsc::channel();
        let worker = std::thread::Builder::new()
            .name("classifier".into())
            .spawn(move || match make() {
                Ok(classifier) => {
                    let _ = ready.send(Ok(classifier.describe()));
                    run_worker(classifier, queue);
                }
                Err(why) => {
                    let _ = ready.send(Err(why));
                }
            })
            .map_err(|e| Error::Config(format!("cannot start the classifier thread: {e}")))?;
        let describe = built
            .recv()
            .map_err(|_| Error::Config("the classifier thread stopped while starting".into()))?
            .map_err(Error::Config)?;
        Ok((Predictor { jobs, describe }, worker))
    }

    pub fn describe(&self) -> &str {
        &self.describe
    }

    /// The `CLASSES` outputs of one input of `INPUTS` values.
    pub async fn outputs(&self, input: Vec<f32>) -> std::result::Result<Vec<f32>, PredictError> {
        if input.len() != INPUTS {
            return Err(PredictError::Failed(Error::Config(format!(
                "an input has {INPUTS} values, not {}",
                input.len()
            ))));
        }
        let (reply, answer) = oneshot::channel();
        self.jobs
            .try_send(Job { input, reply })
            .map_err(|e| match e {
                TrySendError::Full(_) => PredictError::Busy,
                TrySendError::Disconnected(_) => PredictError::Stopped,
            })?;
        answer
            .await
            .map_err(|_| PredictError::Stopped)?
            .map_err(PredictError::Failed)
    }
}

fn run_worker(mut classifier: impl Classify, queue: Receiver<Job>) {
    let mut batch: Vec<Job> = Vec::with_capacity(MAX_BATCH);
    let mut inputs: Vec<f32> = Vec::with_capacity(MAX_BATCH * INPUTS);
    while let Ok(first) = queue.recv() {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        inputs.clear();
        for job in &batch {
            inputs.extend_from_slice(&job.input);
        }
        match classifier.outputs(&inputs) {
            Ok(outputs) if outputs.len() == batch.len() * CLASSES => {
                for (job, out) in batch.drain(..).zip(outputs.chunks_exact(CLASSES)) {
                    // A client that went away no longer waits for its answer.
                    let _ = job.reply.send(Ok(out.to_vec()));
                }
            }
            Ok(outputs) => {
                let why = format!(
                    "the classifier returned {} outputs for {} images",
                    outputs.len(),
                    batch.len()
                );
                for job in batch.drain(..) {
                    let _ = job.reply.send(Err(Error::Config(why.clone())));
                }
            }
            Err(e) => {
                let why = e.to_string();
                for job in batch.drain(..) {
                    let _ = job.reply.send(Err(Error::Config(why.clone())));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probabilities_sum_to_one_and_keep_the_order() {
        let outputs = [0.1, 0.9, 0.05, 0.3, 0.0, 0.2, 0.4, 0.01, 0.6, 0.02];
        let p = probabilities(&outputs);
        let sum: f32 = p.iter().sum();
        assert!((sum - 1.0).abs() < 1e-6, "{sum}");
        let total: f32 = outputs.iter().sum();
        for (o, p) in outputs.iter().zip(&p) {
            assert!((p * total - o).abs() < 1e-6, "{p} · {total} vs {o}");
        }
        assert!(probabilities(&[0.0; 10]).iter().all(|v| v.is_finite()));
    }

    /// A classifier that says when it has a batch and holds it until the test lets it go.
    struct Gate {
        entered: std::sync::mpsc::Sender<()>,
        open: std::sync::mpsc::Receiver<()>,
    }

    impl Classify for Gate {
        fn describe(&self) -> String {
            "gate".into()
        }

        fn outputs(&mut self, inputs: &[f32]) -> Result<Vec<f32>> {
            let _ = self.entered.send(());
            let _ = self.open.recv();
            Ok(vec![0.5; inputs.len() / INPUTS * CLASSES])
        }
    }

    #[test]
    fn a_full_queue_answers_busy_at_once_and_the_rest_are_served() {
        let (open, gate) = std::sync::mpsc::channel();
        let (entered, held) = std::sync::mpsc::channel();
        let (predictor, worker) = Predictor::start(Gate {
            entered,
            open: gate,
        })
        .expect("start");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("runtime");
        runtime.block_on(async {
            let ask = |p: &Predictor| {
                let p = p.clone();
                tokio::spawn(async move { p.outputs(vec![0.0; INPUTS]).await })
            };
            // One request held by the worker, then a full queue behind it.
            let mut waiting = vec![ask(&predictor)];
            while held.try_recv().is_err() {
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
            waiting.extend((0..QUEUE_DEPTH).map(|_| ask(&predictor)));
            // The spawned requests run (and queue) while this task sleeps.
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            let refused = predictor.outputs(vec![0.0; INPUTS]).await;
            assert!(matches!(refused, Err(PredictError::Busy)), "{refused:?}");
            drop(open);
            for task in waiting {
                let outputs = task.await.expect("task").expect("served");
                assert_eq!(outputs, vec![0.5; CLASSES]);
            }
        });
        drop(predictor);
        worker.join().expect("worker");
    }

    #[test]
    fn the_worker_answers_like_the_network() {
        let network = Network::new(&[7], 3).expect("net");
        let (predictor, worker) =
            Predictor::start(NetworkClassifier::new(network.clone())).expect("start");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        let input: Vec<f32> = (0..INPUTS).map(|i| (i % 13) as f32 / 12.0).collect();
        let got = runtime
            .block_on(predictor.outputs(input.clone()))
            .expect("outputs");
        assert_eq!(got, network.forward(&input));
        let short = runtime.block_on(predictor.outputs(vec![0.0; 5]));
        assert!(matches!(short, Err(PredictError::Failed(_))));
        drop(predictor);
        worker
            .join()
            .expect("worker ends when the last handle is dropped");
    }
}
