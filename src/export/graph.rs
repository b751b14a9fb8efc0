//! A small builder of ONNX graphs: nodes with generated value names, constants as
//! initializers, typed inputs and outputs.

use super::proto::{
    AttributeProto, GraphProto, NodeProto, TensorProto, TensorShapeProto, TypeProto,
    ValueInfoProto, attribute_type, data_type, tensor_shape_proto, type_proto,
};

/// A node's attribute value.
pub enum Attr {
    Int(i64),
    Ints(Vec<i64>),
    Str(&'static str),
}

/// One dimension of a declared input or output: fixed, or named (a batch of any size).
pub enum Dim {
    Fixed(i64),
    Named(&'static str),
}

/// The nodes and constants of a graph, in the order they are added (which is topological:
/// a node only reads values made before it).
#[derive(Default)]
pub struct Graph {
    pub nodes: Vec<NodeProto>,
    pub initializers: Vec<TensorProto>,
    count: usize,
}

impl Graph {
    /// Adds a node of `op` reading `inputs`, with one output named after `hint`; returns the
    /// output's name.
    pub fn op(
        &mut self,
        op: &str,
        inputs: &[&str],
        attrs: Vec<(&str, Attr)>,
        hint: &str,
    ) -> String {
        self.count += 1;
        let output = format!("{hint}_{}", self.count);
        self.op_named(op, inputs, attrs, &output);
        output
    }

    /// Adds a node whose one output is `output` (a graph output's name).
    pub fn op_named(&mut self, op: &str, inputs: &[&str], attrs: Vec<(&str, Attr)>, output: &str) {
        let attribute = attrs
            .into_iter()
            .map(|(name, value)| attribute(name, value))
            .collect();
        self.nodes.push(NodeProto {
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: vec![output.to_string()],
            name: Some(format!("{op}_{}", self.nodes.len())),
            op_type: Some(op.to_string()),
            attribute,
            ..Default::default()
        });
    }

    fn constant(&mut self, hint: &str, dims: &[usize], data_type: i32, raw: Vec<u8>) -> String {
        self.count += 1;
        let name = format!("{hint}_{}", self.count);
        self.initializers.push(TensorProto {
            dims: dims.iter().map(|&d| d as i64).collect(),
            data_type: Some(data_type),
            name: Some(name.clone()),
            raw_data: Some(raw),
            ..Default::default()
        });
        name
    }

    pub fn f32s(&mut self, hint: &str, dims: &[usize], values: &[f32]) -> String {
        let raw = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.constant(hint, dims, data_type::FLOAT, raw)
    }

    pub fn f64s(&mut self, hint: &str, dims: &[usize], values: &[f64]) -> String {
        let raw = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.constant(hint, dims, data_type::DOUBLE, raw)
    }

    pub fn i64s(&mut self, hint: &str, dims: &[usize], values: &[i64]) -> String {
        let raw = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.constant(hint, dims, data_type::INT64, raw)
    }

    /// A scalar f64 constant.
    pub fn f64(&mut self, hint: &str, value: f64) -> String {
        self.f64s(hint, &[], &[value])
    }

    /// A scalar f32 constant.
    pub fn f32(&mut self, hint: &str, value: f32) -> String {
        self.f32s(hint, &[], &[value])
    }

    /// Shorthand for a node of two inputs and no attributes (`Add`, `Mul`, ...).
    pub fn binary(&mut self, op: &str, a: &str, b: &str) -> String {
        self.op(op, &[a, b], Vec::new(), &op.to_lowercase())
    }

    pub fn into_proto(
        self,
        name: &str,
        doc: String,
        inputs: Vec<ValueInfoProto>,
        outputs: Vec<ValueInfoProto>,
    ) -> GraphProto {
        GraphProto {
            node: self.nodes,
            name: Some(name.to_string()),
            initializer: self.initializers,
            doc_string: Some(doc),
            input: inputs,
            output: outputs,
            value_info: Vec::new(),
        }
    }
}

fn attribute(name: &str, value: Attr) -> AttributeProto {
    let mut a = AttributeProto {
        name: Some(name.to_string()),
        ..Default::default()
    };
    match value {
        Attr::Int(i) => {
            a.r#type = Some(attribute_type::INT);
            a.i = Some(i);
        }
        Attr::Ints(ints) => {
            a.r#type = Some(attribute_type::INTS);
            a.ints = ints;
        }
        Attr::Str(s) => {
            a.r#type = Some(attribute_type::STRING);
            a.s = Some(s.as_bytes().to_vec());
        }
    }
    a
}

/// A graph input or output: a tensor of `elem_type` and shape `dims`, documented by `doc`.
pub fn value_info(name: &str, elem_type: i32, dims: Vec<Dim>, doc: &str) -> ValueInfoProto {
    let dim = dims
        .into_iter()
        .map(|d| tensor_shape_proto::Dimension {
            value: Some(match d {
                Dim::Fixed(n) => tensor_shape_proto::dimension::Value::DimValue(n),
                Dim::Named(s) => tensor_shape_proto::dimension::Value::DimParam(s.to_string()),
            }),
            denotation: None,
        })
        .collect();
    ValueInfoProto {
        name: Some(name.to_string()),
        r#type: Some(TypeProto {
            value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                elem_type: Some(elem_type),
                shape: Some(TensorShapeProto { dim }),
            })),
            denotation: None,
        }),
        doc_string: Some(doc.to_string()),
    }
}
