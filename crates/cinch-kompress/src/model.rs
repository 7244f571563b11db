//! A token classifier loaded from a model directory in the Hugging Face layout
//! (`config.json`, `model.safetensors`, `tokenizer.json`), in any of the layouts this crate
//! knows, told apart by the names of the tensors:
//!
//! - **Kompress**: `encoder.*` (a ModernBERT), `token_head.*` (a linear layer on the last hidden
//!   state) and `span_conv.{0,2}.*` (two 1-D convolutions over the sequence); a token's score is
//!   `p(keep) × (0.5 + 0.5 × sigmoid(span))`;
//! - **ModernBertForTokenClassification**: `model.*`, `head.*`, `classifier.*`;
//! - **BertForTokenClassification** (the LLMLingua-2 kind): `bert.*`, `classifier.*`;
//! - a bare encoder (`BertModel`, `ModernBertModel`): hidden states only, no scores.

use crate::bert::Bert;
use crate::config::{Encoder, ModelConfig};
use crate::layers::{Linear, Precision};
use crate::modernbert::{ClassifierHead, ModernBert};
use crate::tokenize::WordTokenizer;
use crate::tokenize::{read, Encoded};
use crate::{KompressError, TokenScorer};
use candle_core::{DType, Device, Module, Tensor, D};
use candle_nn::{Conv1d, Conv1dConfig, VarBuilder};
use std::collections::HashMap;
use std::path::Path;

/// The head layout found in the weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// ModernBERT + token head + span head.
    Kompress,
    /// transformers' `ModernBertForTokenClassification`.
    ModernBertTokenClassifier,
    /// transformers' `BertForTokenClassification`.
    BertTokenClassifier,
    /// An encoder without a classification head.
    EncoderOnly,
}

enum Net {
    ModernBert(ModernBert),
    Bert(Bert),
    /// The hand-written encoder ([`Precision::FastInt8`], [`Precision::FastF32`]).
    Fast(Box<crate::fast::FastModernBert>),
}

enum Head {
    Kompress {
        token: Linear,
        span_in: Conv1d,
        span_out: Conv1d,
    },
    ModernBert(ClassifierHead),
    Linear(Linear),
}

/// What one forward pass gives for each token.
#[derive(Debug, Clone, PartialEq)]
pub struct Scores {
    /// Classifier logits, one row per token.
    pub logits: Vec<Vec<f32>>,
    /// The Kompress span head's output (after the sigmoid), if the model has one.
    pub span: Option<Vec<f32>>,
    /// The keep score in [0, 1] of each token.
    pub keep: Vec<f32>,
}

/// A loaded model with its tokenizer.
pub struct Model {
    config: ModelConfig,
    layout: Layout,
    tokenizer: WordTokenizer,
    net: Net,
    head: Option<Head>,
    device: Device,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("layout", &self.layout)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Model {
    /// Loads the model in `dir`.
    pub fn load(dir: &Path, precision: Precision) -> Result<Self, KompressError> {
        let config_text = read(&dir.join("config.json"))?;
        let config = ModelConfig::parse(&String::from_utf8_lossy(&config_text))?;
        let tokenizer = WordTokenizer::load(&dir.join("tokenizer.json"))?;
        let tokens_known = tokenizer.vocab_size();
        if tokens_known > config.vocab_size() {
            return Err(KompressError::Mismatch(format!(
                "the tokenizer knows {tokens_known} tokens, the model only {}",
                config.vocab_size()
            )));
        }
        let device = Device::Cpu;
        let weights_path = dir.join("model.safetensors");
        let bytes = read(&weights_path)?;
        let tensors = candle_core::safetensors::load_buffer(&bytes, &device)
            .map_err(|e| KompressError::Weights(format!("{}: {e}", weights_path.display())))?;
        drop(bytes);
        let layout = layout_of(&tensors);
        // transformers 5 leaves the default two labels out of config.json: the head's shape
        // is the authority.
        let mut config = config;
        if let Some(head) = ["token_head.weight", "classifier.weight"]
            .iter()
            .find_map(|n| tensors.get(*n))
        {
            let labels = head
                .dim(0)
                .map_err(|e| KompressError::Weights(e.to_string()))?;
            if labels < 2 || config.keep_label >= labels {
                return Err(KompressError::Weights(format!(
                    "the classifier has {labels} outputs; a keep/drop model needs at least 2"
                )));
            }
            config.num_labels = labels;
        }
        let weights = |e: candle_core::Error| {
            KompressError::Weights(format!("{}: {e}", weights_path.display()))
        };
        let prefix = match layout {
            Layout::Kompress => "encoder",
            Layout::ModernBertTokenClassifier => "model",
            Layout::BertTokenClassifier => "bert",
            Layout::EncoderOnly => "",
        };
        // Without AVX-512 VNNI the hand-written int8 path runs its portable loops, some ten
        // times slower than candle's int8: candle it is.
        let precision = match precision {
            Precision::FastInt8 if !crate::fast::has_vnni() => Precision::Int8,
            p => p,
        };
        let fast = match (&config.encoder, precision) {
            (Encoder::ModernBert(c), Precision::FastInt8 | Precision::FastF32) => {
                let source = crate::fast::Source::new(&tensors, prefix);
                let int8 = precision == Precision::FastInt8;
                let mut fast =
                    crate::fast::FastModernBert::load(&source, c, int8).map_err(weights)?;
                let root = crate::fast::Source::new(&tensors, "");
                let head =
                    match layout {
                        Layout::Kompress => Some(crate::fast::FastHead::kompress(
                            &root,
                            c.hidden_size,
                            config.num_labels,
                            &config.span,
                        )),
                        Layout::ModernBertTokenClassifier => Some(
                            crate::fast::FastHead::modernbert(&root, c, config.num_labels, int8),
                        ),
                        _ => None,
                    };
                if let Some(head) = head {
                    fast.set_head(head.map_err(weights)?);
                }
                Some(fast)
            }
            _ => None,
        };
        // BERT has no hand-written path: the candle one with the same kind of weights.
        let precision = match precision {
            Precision::FastInt8 => Precision::Int8,
            Precision::FastF32 => Precision::F32,
            p => p,
        };
        let vb = VarBuilder::from_tensors(tensors, DType::F32, &device);
        let body = if prefix.is_empty() {
            vb.clone()
        } else {
            vb.pp(prefix)
        };
        let net = match (&config.encoder, fast) {
            (_, Some(fast)) => Net::Fast(Box::new(fast)),
            (Encoder::ModernBert(c), None) => {
                Net::ModernBert(ModernBert::load(body, c, precision).map_err(weights)?)
            }
            (Encoder::Bert(c), None) => Net::Bert(Bert::load(body, c, precision).map_err(weights)?),
        };
        let hidden = config.hidden_size();
        let head = match (layout, &config.encoder) {
            (Layout::Kompress, _) => {
                let conv = |name: &str, inputs, outputs, kernel: usize| {
                    candle_nn::conv1d(
                        inputs,
                        outputs,
                        kernel,
                        Conv1dConfig {
                            padding: kernel / 2,
                            ..Default::default()
                        },
                        vb.pp(name),
                    )
                };
                let s = &config.span;
                Some(Head::Kompress {
                    token: Linear::load(
                        &vb.pp("token_head"),
                        hidden,
                        config.num_labels,
                        true,
                        Precision::F32,
                    )
                    .map_err(weights)?,
                    span_in: conv("span_conv.0", hidden, s.channels, s.kernels[0])
                        .map_err(weights)?,
                    span_out: conv("span_conv.2", s.channels, 1, s.kernels[1]).map_err(weights)?,
                })
            }
            (Layout::ModernBertTokenClassifier, Encoder::ModernBert(c)) => Some(Head::ModernBert(
                ClassifierHead::load(vb.clone(), c, config.num_labels, precision)
                    .map_err(weights)?,
            )),
            (Layout::BertTokenClassifier, _) => Some(Head::Linear(
                Linear::load(
                    &vb.pp("classifier"),
                    hidden,
                    config.num_labels,
                    true,
                    Precision::F32,
                )
                .map_err(weights)?,
            )),
            (Layout::EncoderOnly, _) => None,
            (layout, encoder) => {
                return Err(KompressError::Weights(format!(
                    "the weights are laid out as {layout:?} but config.json describes {}",
                    match encoder {
                        Encoder::ModernBert(_) => "ModernBERT",
                        Encoder::Bert(_) => "BERT",
                    }
                )))
            }
        };
        Ok(Model {
            config,
            layout,
            tokenizer,
            net,
            head,
            device,
        })
    }

    /// The head layout.
    pub fn layout(&self) -> Layout {
        self.layout
    }

    /// The parsed config.
    pub fn config(&self) -> &ModelConfig {
        &self.config
    }

    /// Whether the model gives keep scores (it has a classification head).
    pub fn scores_tokens(&self) -> bool {
        self.head.is_some()
    }

    /// Tokens of `words`, each word on its own (as `is_split_into_words=True` does in
    /// transformers), with the special tokens the tokenizer adds around a sequence.
    pub fn encode_words(&self, words: &[&str]) -> Result<Encoded, KompressError> {
        self.tokenizer.encode_words(words)
    }

    /// Tokens of a plain text, with the special tokens.
    pub fn encode_text(&self, text: &str) -> Result<Vec<u32>, KompressError> {
        self.tokenizer.encode_text(text)
    }

    fn check(&self, ids: &[u32]) -> Result<(), KompressError> {
        if ids.is_empty() {
            return Err(KompressError::Model("no tokens to run".into()));
        }
        if ids.len() > self.config.max_positions() {
            return Err(KompressError::Model(format!(
                "{} tokens is more than the model's {} positions",
                ids.len(),
                self.config.max_positions()
            )));
        }
        let vocab = self.config.vocab_size();
        if let Some(bad) = ids.iter().find(|&&id| id as usize >= vocab) {
            return Err(KompressError::Mismatch(format!(
                "token id {bad} is outside the model's vocabulary of {vocab}"
            )));
        }
        Ok(())
    }

    fn encode(&self, ids: &[u32]) -> Result<Tensor, KompressError> {
        self.check(ids)?;
        let out = match &self.net {
            Net::ModernBert(m) => m.forward(ids, &self.device),
            Net::Bert(b) => b.forward(ids, &self.device),
            Net::Fast(f) => {
                let hidden = f.forward(ids);
                Tensor::from_vec(
                    hidden,
                    (1, ids.len(), self.config.hidden_size()),
                    &self.device,
                )
            }
        };
        out.map_err(model_error)
    }

    /// The encoder's last hidden state, one row per token.
    pub fn hidden_states(&self, ids: &[u32]) -> Result<Vec<Vec<f32>>, KompressError> {
        self.encode(ids)?
            .squeeze(0)
            .and_then(|t| t.to_vec2())
            .map_err(model_error)
    }

    /// Runs the model on one sequence of token ids.
    pub fn score(&self, ids: &[u32]) -> Result<Scores, KompressError> {
        let Some(head) = &self.head else {
            return Err(KompressError::Model(
                "the model has no token-classification head".into(),
            ));
        };
        if let Net::Fast(fast) = &self.net {
            self.check(ids)?;
            if let Some(s) = fast.score(ids, self.config.keep_label) {
                return Ok(Scores {
                    logits: s.logits,
                    span: s.span,
                    keep: s.keep,
                });
            }
        }
        let hidden = self.encode(ids)?;
        let run = || -> candle_core::Result<Scores> {
            let (logits, span) = match head {
                Head::Kompress {
                    token,
                    span_in,
                    span_out,
                } => {
                    let logits = token.forward(&hidden)?;
                    let channels = hidden.transpose(1, 2)?.contiguous()?;
                    let span = span_out
                        .forward(&span_in.forward(&channels)?.gelu_erf()?)?
                        .flatten_all()?;
                    let span = candle_nn::ops::sigmoid(&span)?;
                    (logits, Some(span))
                }
                Head::ModernBert(h) => (h.forward(&hidden)?, None),
                Head::Linear(l) => (l.forward(&hidden)?, None),
            };
            let logits = logits.squeeze(0)?;
            let p = candle_nn::ops::softmax(&logits, D::Minus1)?
                .narrow(1, self.config.keep_label, 1)?
                .flatten_all()?;
            let keep = match &span {
                Some(s) => (p * ((s * 0.5)? + 0.5)?)?,
                None => p,
            };
            Ok(Scores {
                logits: logits.to_vec2()?,
                span: span.map(|s| s.to_vec1()).transpose()?,
                keep: keep.to_vec1()?,
            })
        };
        run().map_err(model_error)
    }
}

impl TokenScorer for Model {
    fn encode_words(&self, words: &[&str]) -> Result<Encoded, KompressError> {
        self.tokenizer.encode_words(words)
    }

    fn keep_scores(&self, ids: &[u32]) -> Result<Vec<f32>, KompressError> {
        Ok(self.score(ids)?.keep)
    }

    fn max_tokens(&self) -> usize {
        self.config.max_positions()
    }
}

fn model_error(e: candle_core::Error) -> KompressError {
    KompressError::Model(e.to_string())
}

fn layout_of(tensors: &HashMap<String, Tensor>) -> Layout {
    let has = |name: &str| tensors.contains_key(name);
    if has("token_head.weight") {
        Layout::Kompress
    } else if has("classifier.weight") && tensors.keys().any(|k| k.starts_with("bert.")) {
        Layout::BertTokenClassifier
    } else if has("classifier.weight") {
        Layout::ModernBertTokenClassifier
    } else {
        Layout::EncoderOnly
    }
}
