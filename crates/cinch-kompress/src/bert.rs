//! The BERT encoder (post-norm layers, learned absolute positions), as in transformers'
//! `BertModel`: the family of LLMLingua-2's multilingual BERT and of MiniLM.

use crate::config::BertConfig;
use crate::layers::{activate, layer_norm, Linear, Precision};
use candle_core::{Device, Module, Result, Tensor};
use candle_nn::{Embedding, LayerNorm, VarBuilder};

struct Layer {
    query: Linear,
    key: Linear,
    value: Linear,
    attn_out: Linear,
    attn_norm: LayerNorm,
    intermediate: Linear,
    output: Linear,
    out_norm: LayerNorm,
}

/// A loaded BERT encoder.
pub(crate) struct Bert {
    config: BertConfig,
    words: Embedding,
    positions: Embedding,
    token_type: Option<Tensor>,
    embed_norm: LayerNorm,
    layers: Vec<Layer>,
}

impl Bert {
    /// Loads the encoder from `vb`, whose names start at `embeddings.` / `encoder.`.
    pub(crate) fn load(vb: VarBuilder, config: &BertConfig, precision: Precision) -> Result<Self> {
        let c = config;
        let h = c.hidden_size;
        let e = vb.pp("embeddings");
        let words = candle_nn::embedding(c.vocab_size, h, e.pp("word_embeddings"))?;
        let positions = candle_nn::embedding(c.max_positions, h, e.pp("position_embeddings"))?;
        // Every token is of segment 0 here, so only that row of the table is needed.
        let token_type = if c.type_vocab_size > 0 {
            Some(
                e.get((c.type_vocab_size, h), "token_type_embeddings.weight")?
                    .get(0)?,
            )
        } else {
            None
        };
        let embed_norm = layer_norm(&e.pp("LayerNorm"), h, c.norm_eps, true)?;
        let mut layers = Vec::with_capacity(c.num_layers);
        for i in 0..c.num_layers {
            let l = vb.pp(format!("encoder.layer.{i}"));
            let a = l.pp("attention");
            layers.push(Layer {
                query: Linear::load(&a.pp("self.query"), h, h, true, precision)?,
                key: Linear::load(&a.pp("self.key"), h, h, true, precision)?,
                value: Linear::load(&a.pp("self.value"), h, h, true, precision)?,
                attn_out: Linear::load(&a.pp("output.dense"), h, h, true, precision)?,
                attn_norm: layer_norm(&a.pp("output.LayerNorm"), h, c.norm_eps, true)?,
                intermediate: Linear::load(
                    &l.pp("intermediate.dense"),
                    h,
                    c.intermediate_size,
                    true,
                    precision,
                )?,
                output: Linear::load(
                    &l.pp("output.dense"),
                    c.intermediate_size,
                    h,
                    true,
                    precision,
                )?,
                out_norm: layer_norm(&l.pp("output.LayerNorm"), h, c.norm_eps, true)?,
            });
        }
        Ok(Bert {
            config: config.clone(),
            words,
            positions,
            token_type,
            embed_norm,
            layers,
        })
    }

    /// The last hidden state, `[1, tokens, hidden]`, of one unpadded sequence.
    pub(crate) fn forward(&self, ids: &[u32], device: &Device) -> Result<Tensor> {
        let c = &self.config;
        let n = ids.len();
        let ids = Tensor::new(ids, device)?.unsqueeze(0)?;
        let positions = Tensor::arange(0u32, n as u32, device)?.unsqueeze(0)?;
        let mut xs = (self.words.forward(&ids)? + self.positions.forward(&positions)?)?;
        if let Some(t) = &self.token_type {
            xs = xs.broadcast_add(t)?;
        }
        let mut xs = xs.apply(&self.embed_norm)?;
        let head_dim = c.hidden_size / c.num_heads;
        let split = |t: Tensor| -> Result<Tensor> {
            t.reshape((1, n, c.num_heads, head_dim))?
                .transpose(1, 2)?
                .contiguous()
        };
        for layer in &self.layers {
            let q = split(layer.query.forward(&xs)?)?;
            let k = split(layer.key.forward(&xs)?)?;
            let v = split(layer.value.forward(&xs)?)?;
            let scores = (q.matmul(&k.t()?)? * (head_dim as f64).powf(-0.5))?;
            let weights = candle_nn::ops::softmax_last_dim(&scores)?;
            let attended = weights
                .matmul(&v)?
                .transpose(1, 2)?
                .reshape((1, n, c.hidden_size))?;
            xs = (layer.attn_out.forward(&attended)? + xs)?.apply(&layer.attn_norm)?;
            let inner = activate(c.activation, &layer.intermediate.forward(&xs)?)?;
            xs = (layer.output.forward(&inner)? + xs)?.apply(&layer.out_norm)?;
        }
        Ok(xs)
    }
}
