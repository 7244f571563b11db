//! The ModernBERT encoder, as transformers defines it: pre-norm layers with rotary attention
//! (global layers and sliding-window layers with their own RoPE theta), a GeGLU MLP, no biases
//! by default, and a final norm. Written here rather than taken from candle-transformers so that
//! the layer pattern comes from the config (`layer_types`), biases follow the config's flags,
//! and the large matrix multiplications can run in int8.

use crate::config::ModernBertConfig;
use crate::layers::{activate, layer_norm, Linear, Precision};
use candle_core::{Device, Module, Result, Tensor, D};
use candle_nn::{Embedding, LayerNorm, VarBuilder};

struct Layer {
    attn_norm: Option<LayerNorm>,
    qkv: Linear,
    out: Linear,
    mlp_norm: LayerNorm,
    wi: Linear,
    wo: Linear,
    sliding: bool,
}

/// A loaded ModernBERT encoder.
pub(crate) struct ModernBert {
    config: ModernBertConfig,
    embeddings: Embedding,
    embed_norm: LayerNorm,
    layers: Vec<Layer>,
    final_norm: LayerNorm,
}

/// The classification head transformers puts on top (`head` then `classifier`).
pub(crate) struct ClassifierHead {
    dense: Linear,
    norm: LayerNorm,
    classifier: Linear,
    activation: crate::config::Activation,
}

impl ModernBert {
    /// Loads the encoder from `vb`, whose names start at `embeddings.` / `layers.`.
    pub(crate) fn load(
        vb: VarBuilder,
        config: &ModernBertConfig,
        precision: Precision,
    ) -> Result<Self> {
        let c = config;
        let h = c.hidden_size;
        let embeddings = candle_nn::embedding(c.vocab_size, h, vb.pp("embeddings.tok_embeddings"))?;
        let embed_norm = layer_norm(&vb.pp("embeddings.norm"), h, c.norm_eps, c.norm_bias)?;
        let mut layers = Vec::with_capacity(c.sliding.len());
        for (i, &sliding) in c.sliding.iter().enumerate() {
            let vb = vb.pp(format!("layers.{i}"));
            // transformers leaves out the first layer's attention norm (the embeddings were
            // just normalised).
            let attn_norm = if vb.contains_tensor("attn_norm.weight") {
                Some(layer_norm(&vb.pp("attn_norm"), h, c.norm_eps, c.norm_bias)?)
            } else {
                None
            };
            layers.push(Layer {
                attn_norm,
                qkv: Linear::load(&vb.pp("attn.Wqkv"), h, 3 * h, c.attention_bias, precision)?,
                out: Linear::load(&vb.pp("attn.Wo"), h, h, c.attention_bias, precision)?,
                mlp_norm: layer_norm(&vb.pp("mlp_norm"), h, c.norm_eps, c.norm_bias)?,
                wi: Linear::load(
                    &vb.pp("mlp.Wi"),
                    h,
                    2 * c.intermediate_size,
                    c.mlp_bias,
                    precision,
                )?,
                wo: Linear::load(
                    &vb.pp("mlp.Wo"),
                    c.intermediate_size,
                    h,
                    c.mlp_bias,
                    precision,
                )?,
                sliding,
            });
        }
        let final_norm = layer_norm(&vb.pp("final_norm"), h, c.norm_eps, c.norm_bias)?;
        Ok(ModernBert {
            config: config.clone(),
            embeddings,
            embed_norm,
            layers,
            final_norm,
        })
    }

    /// The last hidden state, `[1, tokens, hidden]`, of one unpadded sequence.
    pub(crate) fn forward(&self, ids: &[u32], device: &Device) -> Result<Tensor> {
        let c = &self.config;
        let n = ids.len();
        let head_dim = c.hidden_size / c.num_heads;
        let ids = Tensor::new(ids, device)?.unsqueeze(0)?;
        let global_rope = rope_tables(n, head_dim, c.global_rope_theta, device)?;
        let local_rope = rope_tables(n, head_dim, c.local_rope_theta, device)?;
        let window = window_mask(n, c.local_attention / 2, device)?;
        let mut xs = self.embeddings.forward(&ids)?.apply(&self.embed_norm)?;
        for layer in &self.layers {
            let normed = match &layer.attn_norm {
                Some(norm) => xs.apply(norm)?,
                None => xs.clone(),
            };
            let (rope, mask) = if layer.sliding {
                (&local_rope, window.as_ref())
            } else {
                (&global_rope, None)
            };
            let attended = self.attention(layer, &normed, rope, mask)?;
            xs = (xs + attended)?;
            let gated = layer.wi.forward(&xs.apply(&layer.mlp_norm)?)?;
            let parts = gated.chunk(2, D::Minus1)?;
            let mlp = (activate(c.activation, &parts[0])? * &parts[1])?;
            xs = (xs + layer.wo.forward(&mlp)?)?;
        }
        xs.apply(&self.final_norm)
    }

    fn attention(
        &self,
        layer: &Layer,
        xs: &Tensor,
        (cos, sin): &(Tensor, Tensor),
        mask: Option<&Tensor>,
    ) -> Result<Tensor> {
        let c = &self.config;
        let (b, n, h) = xs.dims3()?;
        let head_dim = h / c.num_heads;
        let qkv = layer
            .qkv
            .forward(xs)?
            .reshape((b, n, 3, c.num_heads, head_dim))?
            .permute((2, 0, 3, 1, 4))?;
        let q = candle_nn::rotary_emb::rope(&qkv.get(0)?.contiguous()?, cos, sin)?;
        let k = candle_nn::rotary_emb::rope(&qkv.get(1)?.contiguous()?, cos, sin)?;
        let v = qkv.get(2)?.contiguous()?;
        let scores = (q.matmul(&k.t()?)? * (head_dim as f64).powf(-0.5))?;
        let scores = match mask {
            Some(m) => scores.broadcast_add(m)?,
            None => scores,
        };
        let weights = candle_nn::ops::softmax_last_dim(&scores)?;
        let out = weights.matmul(&v)?.transpose(1, 2)?.reshape((b, n, h))?;
        layer.out.forward(&out)
    }
}

impl ClassifierHead {
    pub(crate) fn load(
        vb: VarBuilder,
        config: &ModernBertConfig,
        labels: usize,
        precision: Precision,
    ) -> Result<Self> {
        let h = config.hidden_size;
        Ok(ClassifierHead {
            dense: Linear::load(
                &vb.pp("head.dense"),
                h,
                h,
                config.classifier_bias,
                precision,
            )?,
            norm: layer_norm(&vb.pp("head.norm"), h, config.norm_eps, config.norm_bias)?,
            classifier: Linear::load(&vb.pp("classifier"), h, labels, true, Precision::F32)?,
            activation: config.classifier_activation,
        })
    }

    /// Logits `[1, tokens, labels]`.
    pub(crate) fn forward(&self, hidden: &Tensor) -> Result<Tensor> {
        let xs = activate(self.activation, &self.dense.forward(hidden)?)?;
        self.classifier.forward(&xs.apply(&self.norm)?)
    }
}

/// cos and sin of the rotary angles, `[tokens, head_dim / 2]` each.
fn rope_tables(n: usize, head_dim: usize, theta: f64, device: &Device) -> Result<(Tensor, Tensor)> {
    let half = head_dim / 2;
    let inv: Vec<f32> = (0..half)
        .map(|i| 1.0 / theta.powf(2.0 * i as f64 / head_dim as f64) as f32)
        .collect();
    let angles: Vec<f32> = (0..n)
        .flat_map(|p| inv.iter().map(move |f| p as f32 * f))
        .collect();
    let angles = Tensor::from_vec(angles, (n, half), device)?;
    Ok((angles.cos()?, angles.sin()?))
}

/// The sliding window: a token attends to those at most `reach` positions away. `None` when
/// the whole sequence is within reach.
fn window_mask(n: usize, reach: usize, device: &Device) -> Result<Option<Tensor>> {
    if n <= reach + 1 {
        return Ok(None);
    }
    let mask: Vec<f32> = (0..n)
        .flat_map(|i| {
            (0..n).map(move |j| {
                if i.abs_diff(j) > reach {
                    f32::NEG_INFINITY
                } else {
                    0.0
                }
            })
        })
        .collect();
    Tensor::from_vec(mask, (n, n), device).map(Some)
}
