//! A saved network as an ONNX model that any ONNX runtime runs on raw MNIST-like images,
//! preprocessing included.
//!
//! The graph (ONNX opset [`OPSET`], IR version [`IR_VERSION`]):
//! * input [`INPUT`]: f32 `N×1×28×28`, grey levels 0–255, light ink on black as in MNIST;
//! * the model's preprocessing: nothing, or deskewing in f64 rounded back to grey levels
//!   ([`super::deskew`]), as `mnist-gpu eval` sees the test set;
//! * `level / 255`, then per layer `Gemm` (`z = a·Wᵀ + b`) and the hidden activation, built
//!   from the same formula as [`crate::ops::activation::definitions`];
//! * output [`PROBABILITIES`] (softmax, cross-entropy models) or [`SIGMOID_OUTPUTS`] (the
//!   sigmoid outputs of quadratic-cost models, not normalised), f32 `N×10`, and [`DIGIT`]:
//!   int64 `N`, the index of the largest output (the first on ties, as the trainer counts).
//!
//! The model file's metadata (architecture, training recipe, accuracy, data fingerprint,
//! preprocessing) travels as `metadata_props`, and a readable card as the `doc_string`.

use prost::Message;

use super::deskew::deskewed_levels;
use super::graph::{Attr, Dim, Graph, value_info};
use super::proto::{ModelProto, OperatorSetIdProto, StringStringEntryProto, data_type};
use crate::model::{CLASSES, Network};
use crate::model_file::{SavedModel, metadata};
use crate::ops::activation::definitions::{GELU_C, GELU_K};
use crate::ops::{Activation, Loss, Preprocess};
use crate::predict::SIDE;
use crate::{Error, Result};

/// The default ONNX operator set: 20 is the first whose `GridSample` samples f64 images on
/// f64 grids, so deskewing runs in f64 like the trainer's.
pub const OPSET: i64 = 20;
/// IR version 9 is the one that goes with opset 20.
pub const IR_VERSION: i64 = 9;
/// The input's name.
pub const INPUT: &str = "image";
/// The output of cross-entropy models.
pub const PROBABILITIES: &str = "probabilities";
/// The output of quadratic-cost models.
pub const SIGMOID_OUTPUTS: &str = "sigmoid_outputs";
/// The predicted digit.
pub const DIGIT: &str = "digit";

/// What the input expects, for the graph's documentation.
pub const INPUT_DOC: &str = "float32 N×1×28×28: a batch of 28×28 grey images, values 0–255 \
     (grey levels, not scaled to 0–1), light ink on a black background as in MNIST, \
     row-major";

/// The name of the model's scores output: [`PROBABILITIES`] or [`SIGMOID_OUTPUTS`].
pub fn scores_name(loss: Loss) -> &'static str {
    match loss {
        Loss::Xent => PROBABILITIES,
        Loss::Mse => SIGMOID_OUTPUTS,
    }
}

/// The ONNX model's bytes for `model`.
pub fn to_onnx_bytes(model: &SavedModel) -> Result<Vec<u8>> {
    Ok(to_onnx(model)?.encode_to_vec())
}

/// The ONNX model for `model`.
pub fn to_onnx(model: &SavedModel) -> Result<ModelProto> {
    let net = &model.network;
    if net.inputs() != SIDE * SIDE || net.outputs() != CLASSES {
        return Err(Error::Config(format!(
            "only {0}-…-{CLASSES} networks of {SIDE}×{SIDE} images export; this one is {1}",
            SIDE * SIDE,
            net.shape_name()
        )));
    }
    let mut g = Graph::default();
    let levels = match net.preprocess {
        Preprocess::None => INPUT.to_string(),
        Preprocess::Deskew => deskewed_levels(&mut g, INPUT, SIDE, SIDE),
    };
    let scale = g.f32("levels_per_unit", 255.0);
    let scaled = g.binary("Div", &levels, &scale);
    let mut a = g.op(
        "Flatten",
        &[&scaled],
        vec![("axis", Attr::Int(1))],
        "inputs",
    );
    let last = net.layers.len() - 1;
    for (l, layer) in net.layers.iter().enumerate() {
        let w = g.f32s(
            &format!("layers.{l}.weight"),
            &[layer.outputs, layer.inputs],
            &layer.weights,
        );
        let b = g.f32s(&format!("layers.{l}.bias"), &[layer.outputs], &layer.biases);
        let z = g.op(
            "Gemm",
            &[&a, &w, &b],
            vec![("transB", Attr::Int(1))],
            &format!("layer{l}_z"),
        );
        a = if l == last {
            z
        } else {
            activation(&mut g, net.activation, &z)
        };
    }
    let scores = scores_name(net.loss);
    let (op, attrs) = match net.loss {
        Loss::Xent => ("Softmax", vec![("axis", Attr::Int(1))]),
        Loss::Mse => ("Sigmoid", Vec::new()),
    };
    g.op_named(op, &[&a], attrs, scores);
    g.op_named(
        "ArgMax",
        &[scores],
        vec![("axis", Attr::Int(1)), ("keepdims", Attr::Int(0))],
        DIGIT,
    );
    let batch = || Dim::Named("N");
    let inputs = vec![value_info(
        INPUT,
        data_type::FLOAT,
        vec![
            batch(),
            Dim::Fixed(1),
            Dim::Fixed(SIDE as i64),
            Dim::Fixed(SIDE as i64),
        ],
        INPUT_DOC,
    )];
    let scores_doc = match net.loss {
        Loss::Xent => "float32 N×10: the softmax probability of each digit 0–9",
        Loss::Mse => {
            "float32 N×10: the sigmoid output of each digit 0–9 (the network was trained with \
             the quadratic cost on one-hot targets; the outputs are not normalised to sum to 1)"
        }
    };
    let outputs = vec![
        value_info(
            scores,
            data_type::FLOAT,
            vec![batch(), Dim::Fixed(CLASSES as i64)],
            scores_doc,
        ),
        value_info(
            DIGIT,
            data_type::INT64,
            vec![batch()],
            "int64 N: the digit with the largest output (the first on ties)",
        ),
    ];
    let doc = card(model);
    let graph = g.into_proto("mnist-gpu", doc.clone(), inputs, outputs);
    let mut props: Vec<(String, String)> = metadata(model).into_iter().collect();
    props.push(("input".into(), INPUT_DOC.into()));
    props.push(("outputs".into(), format!("{scores}, {DIGIT}")));
    props.sort();
    Ok(ModelProto {
        ir_version: Some(IR_VERSION),
        opset_import: vec![OperatorSetIdProto {
            domain: Some(String::new()),
            version: Some(OPSET),
        }],
        producer_name: Some("mnist-gpu".into()),
        producer_version: Some(env!("CARGO_PKG_VERSION").into()),
        domain: None,
        model_version: Some(1),
        doc_string: Some(doc),
        graph: Some(graph),
        metadata_props: props
            .into_iter()
            .map(|(key, value)| StringStringEntryProto {
                key: Some(key),
                value: Some(value),
            })
            .collect(),
    })
}

/// `activation(z)` as ONNX nodes, operation for operation as the definitions write it.
fn activation(g: &mut Graph, activation: Activation, z: &str) -> String {
    match activation {
        Activation::Sigmoid => g.op("Sigmoid", &[z], Vec::new(), "sigmoid"),
        Activation::Relu => g.op("Relu", &[z], Vec::new(), "relu"),
        Activation::Tanh => g.op("Tanh", &[z], Vec::new(), "tanh"),
        Activation::Linear => z.to_string(),
        Activation::Gelu => {
            // ½z(1 + tanh u), u = K((C·z)·z·z + z): the tanh form, not ONNX's erf Gelu.
            let k = g.f32("gelu_k", GELU_K as f32);
            let c = g.f32("gelu_c", GELU_C as f32);
            let half = g.f32("half", 0.5);
            let one = g.f32("one", 1.0);
            let cz = g.binary("Mul", &c, z);
            let cz2 = g.binary("Mul", &cz, z);
            let cz3 = g.binary("Mul", &cz2, z);
            let inner = g.binary("Add", z, &cz3);
            let u = g.binary("Mul", &k, &inner);
            let t = g.op("Tanh", &[&u], Vec::new(), "tanh");
            let one_t = g.binary("Add", &one, &t);
            let half_z = g.binary("Mul", &half, z);
            g.binary("Mul", &half_z, &one_t)
        }
        Activation::Silu => {
            let s = g.op("Sigmoid", &[z], Vec::new(), "sigmoid");
            g.binary("Mul", z, &s)
        }
    }
}

/// The model card as readable text: what the network is, what it takes and gives, how it was
/// trained.
fn card(model: &SavedModel) -> String {
    let net: &Network = &model.network;
    let t = &model.training;
    let accuracy = t
        .test_accuracy
        .map_or("not measured".to_string(), |a| format!("{a:.2}%"));
    let preprocess = match net.preprocess {
        Preprocess::None => "none: the images go to the first layer as they are (level / 255)",
        Preprocess::Deskew => {
            "deskew, inside this graph: each image sheared upright and centred by its ink's \
             moments (f64, bilinear, zeros outside), rounded to grey levels, then level / 255"
        }
    };
    let fingerprint = if t.data_fingerprint.is_empty() {
        "unknown"
    } else {
        &t.data_fingerprint
    };
    format!(
        "mnist-gpu {version} network {shape}: {describe}.\n\
         Input `{INPUT}`: {INPUT_DOC}.\n\
         Preprocessing: {preprocess}.\n\
         Outputs: `{scores}` ({scores_what}, float32 N×10) and `{DIGIT}` (int64 N).\n\
         Training: {rounds} rounds, batch {batch}, learning rate {lr}, {optimizer}, {schedule} \
         schedule, {init} init, seed {seed}, engine {engine}.\n\
         Test accuracy: {accuracy}. Training data: {fingerprint}.",
        version = env!("CARGO_PKG_VERSION"),
        shape = net.shape_name(),
        describe = net.describe(),
        scores = scores_name(net.loss),
        scores_what = match net.loss {
            Loss::Xent => "softmax probabilities",
            Loss::Mse => "sigmoid outputs, not normalised",
        },
        rounds = t.rounds_completed,
        batch = t.batch_size,
        lr = t.learning_rate,
        optimizer = t.optimizer.describe(),
        schedule = t.schedule.name(),
        init = t.init.name(),
        seed = t.seed,
        engine = if t.engine.is_empty() {
            "unknown"
        } else {
            &t.engine
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Architecture;
    use crate::model_file::TrainingInfo;
    use crate::ops::Init;
    use crate::optim::OptimizerState;

    fn saved(sizes: &[usize], arch: Architecture) -> SavedModel {
        let mut training = TrainingInfo::tutorial(3, 10, 0.5, 7);
        training.test_accuracy = Some(91.25);
        training.data_fingerprint = "sha256:abc".into();
        SavedModel {
            network: Network::build(sizes, arch, Init::He, 7).expect("network"),
            training,
            optimizer_state: OptimizerState::default(),
        }
    }

    fn ops(model: &ModelProto) -> Vec<String> {
        let graph = model.graph.as_ref().expect("graph");
        graph
            .node
            .iter()
            .filter_map(|n| n.op_type.clone())
            .collect()
    }

    #[test]
    fn the_bytes_decode_to_the_graph_the_network_describes() {
        let arch = Architecture {
            activation: Activation::Gelu,
            loss: Loss::Xent,
            preprocess: Preprocess::Deskew,
        };
        let model = saved(&[784, 12, 8, 10], arch);
        let bytes = to_onnx_bytes(&model).expect("export");
        let decoded = ModelProto::decode(bytes.as_slice()).expect("decodes");
        assert_eq!(decoded, to_onnx(&model).expect("export"));
        assert_eq!(decoded.ir_version, Some(IR_VERSION));
        assert_eq!(decoded.opset_import[0].version, Some(OPSET));
        assert_eq!(decoded.producer_name.as_deref(), Some("mnist-gpu"));
        let graph = decoded.graph.as_ref().expect("graph");
        let names = |v: &[super::super::proto::ValueInfoProto]| -> Vec<String> {
            v.iter().filter_map(|i| i.name.clone()).collect()
        };
        assert_eq!(names(&graph.input), [INPUT]);
        assert_eq!(names(&graph.output), [PROBABILITIES, DIGIT]);
        let ops = ops(&decoded);
        assert_eq!(ops.iter().filter(|o| *o == "Gemm").count(), 3);
        // Two hidden layers of the tanh form of GELU; the last layer goes to the softmax.
        assert_eq!(ops.iter().filter(|o| *o == "Tanh").count(), 2);
        for op in [
            "GridSample",
            "ReduceSum",
            "Where",
            "Clip",
            "Softmax",
            "ArgMax",
        ] {
            assert!(ops.iter().any(|o| o == op), "{op} in {ops:?}");
        }
        let sample = graph
            .node
            .iter()
            .find(|n| n.op_type.as_deref() == Some("GridSample"))
            .expect("GridSample");
        let attr = |name: &str| {
            sample
                .attribute
                .iter()
                .find(|a| a.name.as_deref() == Some(name))
        };
        assert_eq!(attr("align_corners").and_then(|a| a.i), Some(1));
        assert_eq!(
            attr("padding_mode").and_then(|a| a.s.clone()).as_deref(),
            Some(b"zeros".as_slice())
        );
        // The weights as stored, [outputs][inputs].
        let first = graph
            .initializer
            .iter()
            .find(|t| {
                t.name
                    .as_deref()
                    .is_some_and(|n| n.starts_with("layers.0.weight"))
            })
            .expect("layer 0's weights");
        assert_eq!(first.dims, [12, 784]);
        let raw: Vec<u8> = model.network.layers[0]
            .weights
            .iter()
            .flat_map(|w| w.to_le_bytes())
            .collect();
        assert_eq!(first.raw_data.as_deref(), Some(raw.as_slice()));
        let meta: std::collections::HashMap<_, _> = decoded
            .metadata_props
            .iter()
            .map(|p| {
                (
                    p.key.clone().unwrap_or_default(),
                    p.value.clone().unwrap_or_default(),
                )
            })
            .collect();
        assert_eq!(meta["preprocess"], "deskew");
        assert_eq!(meta["activation"], "gelu");
        assert_eq!(meta["layer_sizes"], "784,12,8,10");
        assert_eq!(meta["test_accuracy"], "91.25");
        assert_eq!(meta["data_fingerprint"], "sha256:abc");
        let doc = decoded.doc_string.expect("doc");
        assert!(doc.contains("91.25%") && doc.contains("0–255"), "{doc}");
    }

    #[test]
    fn plain_models_read_the_levels_directly_and_mse_names_its_outputs() {
        let model = saved(&[784, 10], Architecture::default());
        let decoded = to_onnx(&model).expect("export");
        let ops = ops(&decoded);
        assert!(
            !ops.iter().any(|o| o == "GridSample" || o == "Cast"),
            "{ops:?}"
        );
        assert_eq!(ops.iter().filter(|o| *o == "Sigmoid").count(), 1);
        let graph = decoded.graph.expect("graph");
        assert_eq!(graph.output[0].name.as_deref(), Some(SIGMOID_OUTPUTS));
    }

    #[test]
    fn only_mnist_shaped_networks_export() {
        let model = saved(&[100, 10], Architecture::default());
        let err = to_onnx(&model).expect_err("100 inputs");
        assert!(err.to_string().contains("100-10"), "{err}");
    }
}
