//! Forward-only uses of the CPU engine's layers: a validation split's accuracy during training
//! and the [`Inference`] engine of eval and serve.

use super::input_layer::{InputLayer, LitPixels};
use super::{EVAL_CHUNK, Images, activation_buffers, forward_all};
use crate::Result;
use crate::data::Dataset;
use crate::engine::{Inference, Pixels, Validation};
use crate::model::{Network, argmax};

/// Classifies a held-out set (a validation split) with any network, on the CPU: the images are
/// converted once, each evaluation is one forward pass per chunk.
pub struct Evaluator {
    images: Images,
    activations: Vec<Vec<f32>>,
    chunk: Vec<u32>,
}

impl Evaluator {
    pub fn new(set: &Dataset, net: &Network) -> Self {
        let rows = EVAL_CHUNK.min(set.len().max(1));
        Evaluator {
            images: Images::new(set),
            activations: activation_buffers(net, rows),
            chunk: Vec::with_capacity(rows),
        }
    }
}

impl Validation for Evaluator {
    fn len(&self) -> usize {
        self.images.len()
    }

    fn correct(&mut self, net: &Network) -> usize {
        let input = InputLayer::new(&net.layers[0], &[], &[]);
        let labels = &self.images.labels;
        let classes = net.outputs();
        let mut correct = 0;
        forward_all(
            net,
            &input,
            &mut self.activations,
            &mut self.chunk,
            &self.images.lit,
            |first, rows, outputs| {
                correct += outputs
                    .chunks(classes)
                    .zip(&labels[first..first + rows])
                    .filter(|(o, l)| argmax(o) == **l)
                    .count();
            },
        );
        correct
    }
}

/// The CPU's forward-only engine ([`Inference`]): the network's first layer in the lit-pixel
/// tiles of training, the layers above through `gemm`, [`EVAL_CHUNK`] images at a time.
pub struct CpuInference {
    net: Network,
    input: InputLayer,
    activations: Vec<Vec<f32>>,
    chunk: Vec<u32>,
}

impl CpuInference {
    pub fn new(net: Network) -> Self {
        let input = InputLayer::new(&net.layers[0], &[], &[]);
        let activations = activation_buffers(&net, EVAL_CHUNK);
        CpuInference {
            net,
            input,
            activations,
            chunk: Vec::with_capacity(EVAL_CHUNK),
        }
    }
}

impl Inference for CpuInference {
    fn describe(&self) -> String {
        format!(
            "cpu: {} threads, f32, forward only",
            rayon::current_num_threads()
        )
    }

    fn classes(&self) -> usize {
        self.net.outputs()
    }

    fn outputs(&mut self, images: Pixels<'_>) -> Result<Vec<f32>> {
        let width = self.net.inputs();
        let count = images.images(width)?;
        let lit = match images {
            Pixels::Bytes(bytes) => LitPixels::from_bytes(bytes, width),
            Pixels::Values(values) => LitPixels::from_values(values, width),
        };
        let mut outputs = Vec::with_capacity(count * self.net.outputs());
        forward_all(
            &self.net,
            &self.input,
            &mut self.activations,
            &mut self.chunk,
            &lit,
            |_, _, o| outputs.extend_from_slice(o),
        );
        Ok(outputs)
    }
}
