//! `config.json`, read leniently: transformers has renamed fields over the years (`norm_eps`
//! against `layer_norm_eps`, `rope_parameters` against `global_rope_theta`, `layer_types` against
//! `global_attn_every_n_layers`), and a config carries many fields this crate does not need.
//! Unknown fields are ignored; a field this crate needs and cannot find is a clear error.

use crate::KompressError;
use serde_json::{Map, Value};

/// An activation function named in a config.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    /// GELU with the error function (`gelu`, PyTorch's default).
    Gelu,
    /// GELU with the tanh approximation (`gelu_new`, `gelu_pytorch_tanh`).
    GeluTanh,
    /// `relu`.
    Relu,
    /// `silu` / `swish`.
    Silu,
}

impl Activation {
    fn parse(name: &str) -> Result<Self, KompressError> {
        Ok(match name {
            "gelu" | "gelu_python" => Activation::Gelu,
            "gelu_new" | "gelu_pytorch_tanh" | "gelu_fast" => Activation::GeluTanh,
            "relu" => Activation::Relu,
            "silu" | "swish" => Activation::Silu,
            other => {
                return Err(KompressError::Config(format!(
                    "unsupported activation {other:?}"
                )))
            }
        })
    }
}

/// The ModernBERT encoder's shape.
#[derive(Debug, Clone, PartialEq)]
pub struct ModernBertConfig {
    /// Vocabulary size.
    pub vocab_size: usize,
    /// Hidden size.
    pub hidden_size: usize,
    /// Attention heads.
    pub num_heads: usize,
    /// Half the width of the GeGLU input projection.
    pub intermediate_size: usize,
    /// Longest sequence the rotary tables cover.
    pub max_positions: usize,
    /// LayerNorm epsilon.
    pub norm_eps: f64,
    /// Whether the LayerNorms have a bias.
    pub norm_bias: bool,
    /// Whether the attention projections have a bias.
    pub attention_bias: bool,
    /// Whether the MLP projections have a bias.
    pub mlp_bias: bool,
    /// Activation of the MLP's gate.
    pub activation: Activation,
    /// For each layer, whether it attends within a sliding window (otherwise globally).
    pub sliding: Vec<bool>,
    /// Width of the sliding window (a token sees `local_attention / 2` on each side).
    pub local_attention: usize,
    /// RoPE theta of the global layers.
    pub global_rope_theta: f64,
    /// RoPE theta of the sliding-window layers.
    pub local_rope_theta: f64,
    /// Whether the classification head's dense layer has a bias.
    pub classifier_bias: bool,
    /// Activation of the classification head.
    pub classifier_activation: Activation,
}

/// The BERT encoder's shape.
#[derive(Debug, Clone, PartialEq)]
pub struct BertConfig {
    /// Vocabulary size.
    pub vocab_size: usize,
    /// Hidden size.
    pub hidden_size: usize,
    /// Layers.
    pub num_layers: usize,
    /// Attention heads.
    pub num_heads: usize,
    /// Width of the feed-forward layer.
    pub intermediate_size: usize,
    /// Learned absolute positions.
    pub max_positions: usize,
    /// Token type vocabulary (segment ids); 0 means none.
    pub type_vocab_size: usize,
    /// LayerNorm epsilon.
    pub norm_eps: f64,
    /// Activation of the feed-forward layer.
    pub activation: Activation,
}

/// Which encoder a config describes.
#[derive(Debug, Clone, PartialEq)]
pub enum Encoder {
    /// ModernBERT.
    ModernBert(ModernBertConfig),
    /// BERT.
    Bert(BertConfig),
}

/// What this crate needs from `config.json`.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelConfig {
    /// The encoder.
    pub encoder: Encoder,
    /// Output classes of the token classifier (2 for keep/drop).
    pub num_labels: usize,
    /// Index of the class that means "keep".
    pub keep_label: usize,
    /// The architecture named in the config, if any.
    pub architecture: Option<String>,
    /// The span head's hidden channels and kernel sizes, for the Kompress layout.
    pub span: SpanConfig,
}

/// The Kompress span head: `Conv1d(hidden → channels, k0)`, GELU, `Conv1d(channels → 1, k1)`.
#[derive(Debug, Clone, PartialEq)]
pub struct SpanConfig {
    /// Hidden channels.
    pub channels: usize,
    /// Kernel sizes of the two convolutions (odd; padded to keep the length).
    pub kernels: [usize; 2],
}

impl Default for SpanConfig {
    /// The peer's published head: 256 channels, kernels 5 and 3.
    fn default() -> Self {
        SpanConfig {
            channels: 256,
            kernels: [5, 3],
        }
    }
}

struct Fields<'a>(&'a Map<String, Value>);

impl Fields<'_> {
    fn get(&self, names: &[&str]) -> Option<&Value> {
        names
            .iter()
            .find_map(|n| self.0.get(*n).filter(|v| !v.is_null()))
    }

    fn usize(&self, names: &[&str]) -> Result<usize, KompressError> {
        self.opt_usize(names)?.ok_or_else(|| missing(names))
    }

    fn opt_usize(&self, names: &[&str]) -> Result<Option<usize>, KompressError> {
        match self.get(names) {
            None => Ok(None),
            Some(v) => v
                .as_u64()
                .and_then(|n| usize::try_from(n).ok())
                .map(Some)
                .ok_or_else(|| invalid(names[0], v)),
        }
    }

    fn f64_or(&self, names: &[&str], default: f64) -> Result<f64, KompressError> {
        match self.get(names) {
            None => Ok(default),
            Some(v) => v.as_f64().ok_or_else(|| invalid(names[0], v)),
        }
    }

    fn bool_or(&self, name: &str, default: bool) -> Result<bool, KompressError> {
        match self.get(&[name]) {
            None => Ok(default),
            Some(v) => v.as_bool().ok_or_else(|| invalid(name, v)),
        }
    }

    fn activation_or(&self, name: &str, default: Activation) -> Result<Activation, KompressError> {
        match self.get(&[name]) {
            None => Ok(default),
            Some(Value::String(s)) => Activation::parse(s),
            Some(v) => Err(invalid(name, v)),
        }
    }
}

fn missing(names: &[&str]) -> KompressError {
    KompressError::Config(format!("missing field {}", names.join(" or ")))
}

fn invalid(name: &str, v: &Value) -> KompressError {
    KompressError::Config(format!("field {name} has an unusable value {v}"))
}

/// Upper bounds that keep a hostile config from asking for absurd allocations.
const MAX_DIM: usize = 1 << 16;
const MAX_LAYERS: usize = 256;
const MAX_VOCAB: usize = 1 << 22;

fn bounded(name: &str, n: usize, max: usize) -> Result<usize, KompressError> {
    if n == 0 || n > max {
        return Err(KompressError::Config(format!(
            "field {name} = {n} is out of range (1..={max})"
        )));
    }
    Ok(n)
}

impl ModelConfig {
    /// Parses the text of a `config.json`.
    pub fn parse(text: &str) -> Result<Self, KompressError> {
        let value: Value = serde_json::from_str(text)
            .map_err(|e| KompressError::Config(format!("config.json is not JSON: {e}")))?;
        let Value::Object(map) = value else {
            return Err(KompressError::Config("config.json is not an object".into()));
        };
        let f = Fields(&map);
        let model_type = f
            .get(&["model_type"])
            .and_then(Value::as_str)
            .ok_or_else(|| missing(&["model_type"]))?;
        let encoder = match model_type {
            "modernbert" => Encoder::ModernBert(modernbert(&f)?),
            "bert" => Encoder::Bert(bert(&f)?),
            other => {
                return Err(KompressError::Config(format!(
                    "model_type {other:?} is not supported (modernbert, bert)"
                )))
            }
        };
        let labels: Vec<String> = match f.get(&["id2label"]) {
            Some(Value::Object(m)) => {
                let mut pairs: Vec<(usize, String)> = m
                    .iter()
                    .filter_map(|(k, v)| Some((k.parse().ok()?, v.as_str()?.to_lowercase())))
                    .collect();
                pairs.sort();
                pairs.into_iter().map(|(_, l)| l).collect()
            }
            _ => Vec::new(),
        };
        let num_labels = match f.opt_usize(&["num_labels"])? {
            Some(n) => n,
            None if !labels.is_empty() => labels.len(),
            None => 2,
        };
        if !(2..=64).contains(&num_labels) {
            return Err(KompressError::Config(format!(
                "a token classifier needs 2 to 64 labels, not {num_labels}"
            )));
        }
        // Keep/drop models name their classes variously; the conventional order puts "keep"
        // second (LLMLingua-2, Kompress).
        let keep_label = labels
            .iter()
            .position(|l| matches!(l.as_str(), "keep" | "preserve" | "retain"))
            .unwrap_or(1);
        let architecture = f
            .get(&["architectures"])
            .and_then(Value::as_array)
            .and_then(|a| a.first())
            .and_then(Value::as_str)
            .map(str::to_string);
        let span = match f.get(&["kompress"]) {
            Some(Value::Object(k)) => {
                let k = Fields(k);
                let channels = bounded("span_hidden", k.usize(&["span_hidden"])?, MAX_DIM)?;
                let kernels = match k.get(&["span_kernels"]) {
                    Some(Value::Array(a)) if a.len() == 2 => {
                        let mut out = [0; 2];
                        for (o, v) in out.iter_mut().zip(a) {
                            let n = v.as_u64().unwrap_or(0) as usize;
                            if n.is_multiple_of(2) || n > 63 {
                                return Err(invalid("span_kernels", v));
                            }
                            *o = n;
                        }
                        out
                    }
                    Some(v) => return Err(invalid("span_kernels", v)),
                    None => SpanConfig::default().kernels,
                };
                SpanConfig { channels, kernels }
            }
            _ => SpanConfig::default(),
        };
        Ok(ModelConfig {
            encoder,
            num_labels,
            keep_label,
            architecture,
            span,
        })
    }

    /// Vocabulary size of the encoder.
    pub fn vocab_size(&self) -> usize {
        match &self.encoder {
            Encoder::ModernBert(c) => c.vocab_size,
            Encoder::Bert(c) => c.vocab_size,
        }
    }

    /// Hidden size of the encoder.
    pub fn hidden_size(&self) -> usize {
        match &self.encoder {
            Encoder::ModernBert(c) => c.hidden_size,
            Encoder::Bert(c) => c.hidden_size,
        }
    }

    /// The longest token sequence the encoder takes.
    pub fn max_positions(&self) -> usize {
        match &self.encoder {
            Encoder::ModernBert(c) => c.max_positions,
            Encoder::Bert(c) => c.max_positions,
        }
    }
}

/// The sizes every encoder config has, checked.
struct Shape {
    vocab_size: usize,
    hidden_size: usize,
    num_heads: usize,
    num_layers: usize,
    intermediate_size: usize,
    max_positions: usize,
}

impl Shape {
    fn read(f: &Fields, default_positions: usize) -> Result<Self, KompressError> {
        let hidden = bounded("hidden_size", f.usize(&["hidden_size"])?, MAX_DIM)?;
        let heads = bounded(
            "num_attention_heads",
            f.usize(&["num_attention_heads"])?,
            MAX_DIM,
        )?;
        if !hidden.is_multiple_of(heads) || !(hidden / heads).is_multiple_of(2) {
            return Err(KompressError::Config(format!(
                "hidden_size {hidden} does not split into {heads} heads of even width"
            )));
        }
        Ok(Shape {
            vocab_size: bounded("vocab_size", f.usize(&["vocab_size"])?, MAX_VOCAB)?,
            hidden_size: hidden,
            num_heads: heads,
            num_layers: bounded(
                "num_hidden_layers",
                f.usize(&["num_hidden_layers"])?,
                MAX_LAYERS,
            )?,
            intermediate_size: bounded(
                "intermediate_size",
                f.usize(&["intermediate_size"])?,
                MAX_DIM * 4,
            )?,
            max_positions: bounded(
                "max_position_embeddings",
                f.opt_usize(&["max_position_embeddings"])?
                    .unwrap_or(default_positions),
                1 << 20,
            )?,
        })
    }
}

fn modernbert(f: &Fields) -> Result<ModernBertConfig, KompressError> {
    let shape = Shape::read(f, 8192)?;
    let layers = shape.num_layers;
    // transformers 5 writes `layer_types`; older versions `global_attn_every_n_layers`, where
    // layer i is global when i % n == 0.
    let sliding = match f.get(&["layer_types"]) {
        Some(Value::Array(types)) => {
            if types.len() != layers {
                return Err(KompressError::Config(format!(
                    "layer_types names {} layers, num_hidden_layers is {layers}",
                    types.len()
                )));
            }
            types
                .iter()
                .map(|t| match t.as_str() {
                    Some("sliding_attention") => Ok(true),
                    Some("full_attention") => Ok(false),
                    _ => Err(invalid("layer_types", t)),
                })
                .collect::<Result<Vec<_>, _>>()?
        }
        _ => {
            let every = f
                .opt_usize(&["global_attn_every_n_layers"])?
                .unwrap_or(3)
                .max(1);
            (0..layers).map(|i| i % every != 0).collect()
        }
    };
    let rope = f.get(&["rope_parameters"]).and_then(Value::as_object);
    let rope_theta = |kind: &str| {
        rope.and_then(|r| r.get(kind))
            .and_then(|p| p.get("rope_theta"))
            .and_then(Value::as_f64)
    };
    let global_rope_theta = match rope_theta("full_attention") {
        Some(t) => t,
        None => f.f64_or(&["global_rope_theta", "rope_theta"], 160_000.0)?,
    };
    let local_rope_theta = match rope_theta("sliding_attention") {
        Some(t) => t,
        None => f.f64_or(&["local_rope_theta"], 10_000.0)?,
    };
    Ok(ModernBertConfig {
        vocab_size: shape.vocab_size,
        hidden_size: shape.hidden_size,
        num_heads: shape.num_heads,
        intermediate_size: shape.intermediate_size,
        max_positions: shape.max_positions,
        norm_eps: f.f64_or(&["norm_eps", "layer_norm_eps"], 1e-5)?,
        norm_bias: f.bool_or("norm_bias", false)?,
        attention_bias: f.bool_or("attention_bias", false)?,
        mlp_bias: f.bool_or("mlp_bias", false)?,
        activation: f.activation_or("hidden_activation", Activation::Gelu)?,
        sliding,
        local_attention: f.opt_usize(&["local_attention"])?.unwrap_or(128),
        global_rope_theta,
        local_rope_theta,
        classifier_bias: f.bool_or("classifier_bias", false)?,
        classifier_activation: f.activation_or("classifier_activation", Activation::Gelu)?,
    })
}

fn bert(f: &Fields) -> Result<BertConfig, KompressError> {
    let shape = Shape::read(f, 512)?;
    if let Some(kind) = f.get(&["position_embedding_type"]).and_then(Value::as_str) {
        if kind != "absolute" {
            return Err(KompressError::Config(format!(
                "position_embedding_type {kind:?} is not supported (absolute)"
            )));
        }
    }
    Ok(BertConfig {
        vocab_size: shape.vocab_size,
        hidden_size: shape.hidden_size,
        num_layers: shape.num_layers,
        num_heads: shape.num_heads,
        intermediate_size: shape.intermediate_size,
        max_positions: shape.max_positions,
        type_vocab_size: f.opt_usize(&["type_vocab_size"])?.unwrap_or(2).min(MAX_DIM),
        norm_eps: f.f64_or(&["layer_norm_eps", "norm_eps"], 1e-12)?,
        activation: f.activation_or("hidden_act", Activation::Gelu)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const OLD_STYLE: &str = r#"{
        "architectures": ["ModernBertForTokenClassification"], "model_type": "modernbert",
        "vocab_size": 500, "hidden_size": 64, "num_hidden_layers": 4, "num_attention_heads": 4,
        "intermediate_size": 96, "norm_eps": 1e-5, "global_attn_every_n_layers": 3,
        "local_attention": 16, "global_rope_theta": 160000.0, "local_rope_theta": 10000.0,
        "id2label": {"0": "DROP", "1": "KEEP"}, "some_future_field": {"x": [1, 2]}
    }"#;

    #[test]
    fn old_style_modernbert_fields_are_read() {
        let c = ModelConfig::parse(OLD_STYLE).unwrap();
        let Encoder::ModernBert(m) = &c.encoder else {
            panic!("not modernbert")
        };
        assert_eq!(m.sliding, vec![false, true, true, false]);
        assert_eq!(m.global_rope_theta, 160_000.0);
        assert_eq!((c.num_labels, c.keep_label), (2, 1));
        assert_eq!(m.max_positions, 8192);
    }

    #[test]
    fn transformers_5_fields_are_read() {
        let text = r#"{"model_type": "modernbert", "vocab_size": 10, "hidden_size": 8,
            "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 12,
            "layer_types": ["sliding_attention", "full_attention"],
            "rope_parameters": {"full_attention": {"rope_type": "default", "rope_theta": 5.0},
                                "sliding_attention": {"rope_type": "default", "rope_theta": 7.0}},
            "id2label": {"0": "keep", "1": "drop"}}"#;
        let c = ModelConfig::parse(text).unwrap();
        let Encoder::ModernBert(m) = &c.encoder else {
            panic!("not modernbert")
        };
        assert_eq!(m.sliding, vec![true, false]);
        assert_eq!((m.global_rope_theta, m.local_rope_theta), (5.0, 7.0));
        assert_eq!(c.keep_label, 0);
    }

    #[test]
    fn bad_configs_say_what_is_wrong() {
        let cases = [
            ("[]", "not an object"),
            ("{", "not JSON"),
            (r#"{"model_type": "gpt2"}"#, "not supported"),
            (r#"{"model_type": "bert"}"#, "missing field hidden_size"),
            (
                r#"{"model_type": "bert", "hidden_size": 10, "num_attention_heads": 3}"#,
                "does not split",
            ),
            (
                r#"{"model_type": "bert", "hidden_size": 99999999, "num_attention_heads": 1}"#,
                "out of range",
            ),
            (
                r#"{"model_type": "bert", "vocab_size": 5, "hidden_size": 8, "num_attention_heads": 2,
                   "num_hidden_layers": 1, "intermediate_size": 8, "hidden_act": "mish"}"#,
                "unsupported activation",
            ),
        ];
        for (text, want) in cases {
            let err = ModelConfig::parse(text).unwrap_err().to_string();
            assert!(err.contains(want), "{text}: {err}");
        }
    }
}
