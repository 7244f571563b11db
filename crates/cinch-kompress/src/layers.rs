//! The building blocks both encoders share: linear layers that can hold f32 or int8 weights,
//! LayerNorms with or without a bias, activations.

use crate::config::Activation;
use candle_core::quantized::{GgmlDType, QMatMul, QTensor};
use candle_core::{Module, Result, Tensor};
use candle_nn::VarBuilder;

/// How the weights of the large matrix multiplications are held.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Precision {
    /// As stored: f32.
    #[default]
    F32,
    /// 8-bit blocks of 32 weights with one scale each (GGML's Q8_0); activations are quantized
    /// the same way on the fly. About a quarter of the memory, and integer dot products.
    Int8,
    /// The hand-written int8 path (per-channel int8 weights, per-row int8 activations) on
    /// AVX-512 VNNI. ModernBERT encoders on CPUs with AVX-512 VNNI only: elsewhere (BERT, or a
    /// CPU without VNNI, where the portable int8 loops would be slower) it is [`Precision::Int8`].
    FastInt8,
    /// The hand-written path with f32 weights: a reference for [`Precision::FastInt8`].
    /// ModernBERT encoders only: BERT falls back to [`Precision::F32`].
    FastF32,
}

/// `y = x Wᵀ + b`.
#[derive(Debug, Clone)]
pub(crate) struct Linear {
    weight: QMatMul,
    bias: Option<Tensor>,
}

impl Linear {
    pub(crate) fn load(
        vb: &VarBuilder,
        inputs: usize,
        outputs: usize,
        bias: bool,
        precision: Precision,
    ) -> Result<Self> {
        let w = vb.get((outputs, inputs), "weight")?;
        let bias = if bias {
            Some(vb.get(outputs, "bias")?)
        } else {
            None
        };
        // Q8_0 works in blocks of 32 along the input dimension; a layer that does not divide
        // stays in f32 (small heads, odd test models).
        let weight = if matches!(precision, Precision::Int8 | Precision::FastInt8)
            && inputs.is_multiple_of(GgmlDType::Q8_0.block_size())
        {
            QMatMul::from_qtensor(QTensor::quantize(&w, GgmlDType::Q8_0)?)?
        } else {
            QMatMul::Tensor(w)
        };
        Ok(Linear { weight, bias })
    }
}

impl Module for Linear {
    fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        let ys = self.weight.forward(xs)?;
        match &self.bias {
            Some(b) => ys.broadcast_add(b),
            None => Ok(ys),
        }
    }
}

/// A LayerNorm over the last dimension; `bias` says whether the checkpoint has one.
pub(crate) fn layer_norm(
    vb: &VarBuilder,
    size: usize,
    eps: f64,
    bias: bool,
) -> Result<candle_nn::LayerNorm> {
    // Old BERT checkpoints name the parameters gamma and beta.
    let (w, b) = if vb.contains_tensor("gamma") {
        ("gamma", "beta")
    } else {
        ("weight", "bias")
    };
    let weight = vb.get(size, w)?;
    Ok(if bias {
        candle_nn::LayerNorm::new(weight, vb.get(size, b)?, eps)
    } else {
        candle_nn::LayerNorm::new_no_bias(weight, eps)
    })
}

/// Applies `act` element-wise.
pub(crate) fn activate(act: Activation, xs: &Tensor) -> Result<Tensor> {
    match act {
        Activation::Gelu => xs.gelu_erf(),
        Activation::GeluTanh => xs.gelu(),
        Activation::Relu => xs.relu(),
        Activation::Silu => xs.silu(),
    }
}
