//! The all-MiniLM-L6-v2 transformer (BERT, post-norm, eval mode) over plain
//! row-major `f32` buffers.
//!
//! Sentences are packed one after another as rows, without padding: attention
//! runs within each sentence, so a batch spends nothing on padding and needs no
//! mask, and one sentence takes the same path as many. The matrix products are
//! the heavy part ([`Linear`]); the rest (attention over a dozen tokens, layer
//! norms, GELU, residuals) is a few thousand floats a layer, cheaper as loops in
//! place than as tensor operations that allocate and dispatch at every step.

use std::collections::HashMap;
use std::ops::Range;

use candle_core::{DType, Tensor};
use candle_transformers::models::bert::{Config, HiddenAct};

use super::bf16::Bf16Matrix;
use crate::fastexp;
use crate::vector::dot;

/// A dense layer `y = x·Wᵀ + b`, its weights rounded to bf16 once at load.
///
/// Both paths compute with the same rounded weights, so a sentence embeds the
/// same alone or in a batch (up to float summation order).
struct Linear {
    /// For few rows: the bf16 product of [`super::bf16`], bound by memory.
    rounded: Bf16Matrix,
    bias: Vec<f32>,
    /// For many rows: the rounded weights as f32, `(out, in)`, for candle's
    /// gemm, which is compute-bound there and faster.
    weight: Tensor,
    bias_tensor: Tensor,
}

impl Linear {
    /// Rows up to which [`Linear::forward`] uses the bf16 product (one
    /// sentence of up to 64 word pieces); beyond it gemm is faster.
    const FEW_ROWS: usize = 64;

    /// Rounds `weight` (`(out, in)`) to bf16.
    fn new(weight: &Tensor, bias: &Tensor) -> candle_core::Result<Self> {
        let (out, inp) = weight.dims2()?;
        let rounded = Bf16Matrix::from_f32(&weight.flatten_all()?.to_vec1::<f32>()?, out, inp);
        let weight = Tensor::from_vec(rounded.to_f32(), (out, inp), weight.device())?;
        Ok(Self { rounded, bias: bias.to_vec1::<f32>()?, weight, bias_tensor: bias.clone() })
    }

    /// `x` is `rows × in`, row-major; returns `rows × out`.
    fn forward(&self, x: &[f32], rows: usize) -> candle_core::Result<Vec<f32>> {
        if rows <= Self::FEW_ROWS {
            return Ok(self.rounded.forward(x, rows, &self.bias));
        }
        // `x · Wᵀ` with W stored `(out, in)`: gemm reads the transposed view
        // directly, no copy of the weights.
        let x = Tensor::from_slice(x, (rows, x.len() / rows), self.weight.device())?;
        x.matmul(&self.weight.t()?)?.broadcast_add(&self.bias_tensor)?.flatten_all()?.to_vec1()
    }
}

/// Layer normalisation over each row of `hidden` values.
struct Norm {
    weight: Vec<f32>,
    bias: Vec<f32>,
    eps: f32,
}

impl Norm {
    /// Normalises every row of `x` in place.
    fn apply(&self, x: &mut [f32]) {
        let n = self.weight.len() as f32;
        for row in x.chunks_exact_mut(self.weight.len()) {
            let mean = row.iter().sum::<f32>() / n;
            let var = row.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / n;
            let inv = 1.0 / (var + self.eps).sqrt();
            for ((v, w), b) in row.iter_mut().zip(&self.weight).zip(&self.bias) {
                *v = (*v - mean) * inv * w + b;
            }
        }
    }
}

/// One transformer block of BERT (post-norm), eval mode (no dropout).
struct Layer {
    /// Query, key and value projections fused into one `(3·hidden, hidden)` product.
    qkv: Linear,
    attn_out: Linear,
    attn_norm: Norm,
    /// Followed by GELU.
    intermediate: Linear,
    output: Linear,
    out_norm: Norm,
}

/// The all-MiniLM-L6-v2 transformer: BERT embeddings and encoder.
pub(super) struct MiniLm {
    /// Kept as a tensor (47 MB) for `index_select`; the rest is small.
    word_embeddings: Tensor,
    position_embeddings: Vec<f32>,
    /// Token-type 0 row: every input is a single segment.
    token_type_embedding: Vec<f32>,
    embed_norm: Norm,
    layers: Vec<Layer>,
    heads: usize,
    head_dim: usize,
}

impl MiniLm {
    /// Builds the model from the checkpoint tensors (HF `BertModel` names,
    /// with or without a `bert.` prefix), checking every shape.
    pub(super) fn load(tensors: &HashMap<String, Tensor>, config: &Config) -> candle_core::Result<Self> {
        if config.hidden_act != HiddenAct::Gelu {
            candle_core::bail!("unsupported hidden_act {:?}", config.hidden_act);
        }
        let hidden = config.hidden_size;
        let heads = config.num_attention_heads;
        if heads == 0 || !hidden.is_multiple_of(heads) {
            candle_core::bail!("hidden_size {hidden} is not a multiple of {heads} heads");
        }
        let get = |name: &str, shape: &[usize]| -> candle_core::Result<Tensor> {
            let tensor = tensors
                .get(name)
                .or_else(|| tensors.get(&format!("bert.{name}")))
                .ok_or_else(|| candle_core::Error::Msg(format!("tensor {name} not found")))?;
            if tensor.dims() != shape {
                candle_core::bail!("tensor {name} has shape {:?}, expected {shape:?}", tensor.dims());
            }
            tensor.to_dtype(DType::F32)
        };
        let eps = config.layer_norm_eps as f32;
        let norm = |prefix: &str| -> candle_core::Result<Norm> {
            Ok(Norm {
                weight: get(&format!("{prefix}.weight"), &[hidden])?.to_vec1()?,
                bias: get(&format!("{prefix}.bias"), &[hidden])?.to_vec1()?,
                eps,
            })
        };
        let weights = |prefix: &str, out: usize, inp: usize| -> candle_core::Result<(Tensor, Tensor)> {
            Ok((get(&format!("{prefix}.weight"), &[out, inp])?, get(&format!("{prefix}.bias"), &[out])?))
        };
        let linear = |prefix: &str, out: usize, inp: usize| -> candle_core::Result<Linear> {
            let (weight, bias) = weights(prefix, out, inp)?;
            Linear::new(&weight, &bias)
        };

        let mut layers = Vec::with_capacity(config.num_hidden_layers);
        for i in 0..config.num_hidden_layers {
            let p = format!("encoder.layer.{i}");
            let [q, k, v] =
                ["query", "key", "value"].map(|name| weights(&format!("{p}.attention.self.{name}"), hidden, hidden));
            let (q, k, v) = (q?, k?, v?);
            let qkv = Linear::new(&Tensor::cat(&[&q.0, &k.0, &v.0], 0)?, &Tensor::cat(&[&q.1, &k.1, &v.1], 0)?)?;
            let inter = config.intermediate_size;
            layers.push(Layer {
                qkv,
                attn_out: linear(&format!("{p}.attention.output.dense"), hidden, hidden)?,
                attn_norm: norm(&format!("{p}.attention.output.LayerNorm"))?,
                intermediate: linear(&format!("{p}.intermediate.dense"), inter, hidden)?,
                output: linear(&format!("{p}.output.dense"), hidden, inter)?,
                out_norm: norm(&format!("{p}.output.LayerNorm"))?,
            });
        }
        Ok(Self {
            word_embeddings: get("embeddings.word_embeddings.weight", &[config.vocab_size, hidden])?,
            position_embeddings: get(
                "embeddings.position_embeddings.weight",
                &[config.max_position_embeddings, hidden],
            )?
            .flatten_all()?
            .to_vec1()?,
            token_type_embedding: get("embeddings.token_type_embeddings.weight", &[config.type_vocab_size, hidden])?
                .narrow(0, 0, 1)?
                .flatten_all()?
                .to_vec1()?,
            embed_norm: norm("embeddings.LayerNorm")?,
            layers,
            heads,
            head_dim: hidden / heads,
        })
    }

    fn hidden(&self) -> usize {
        self.heads * self.head_dim
    }

    /// Runs sentences (token ids with `[CLS]`/`[SEP]`) packed as rows.
    /// Returns the hidden states after each layer, first to last, each
    /// `rows × hidden` with the sentences' rows in input order.
    pub(super) fn forward(&self, sentences: &[&[u32]]) -> candle_core::Result<Vec<Vec<f32>>> {
        let hidden = self.hidden();
        let spans = spans(sentences);
        let rows = spans.last().map_or(0, |s| s.end);
        let longest = sentences.iter().map(|s| s.len()).max().unwrap_or(0);
        if longest * hidden > self.position_embeddings.len() {
            candle_core::bail!("a sentence of {longest} tokens is longer than the model's positions");
        }

        let ids: Vec<u32> = sentences.iter().flat_map(|s| s.iter().copied()).collect();
        let ids = Tensor::from_vec(ids, rows, self.word_embeddings.device())?;
        let mut x: Vec<f32> = self.word_embeddings.index_select(&ids, 0)?.flatten_all()?.to_vec1()?;
        for span in &spans {
            let block = &mut x[span.start * hidden..span.end * hidden];
            for (row, position) in block.chunks_exact_mut(hidden).zip(self.position_embeddings.chunks_exact(hidden)) {
                for ((v, p), t) in row.iter_mut().zip(position).zip(&self.token_type_embedding) {
                    *v += p + t;
                }
            }
        }
        self.embed_norm.apply(&mut x);
        let embedded = x;

        let mut states: Vec<Vec<f32>> = Vec::with_capacity(self.layers.len());
        for layer in &self.layers {
            let x = states.last().unwrap_or(&embedded);
            let qkv = layer.qkv.forward(x, rows)?;
            let context = self.attend(&qkv, &spans);
            let mut attended = layer.attn_out.forward(&context, rows)?;
            add(&mut attended, x);
            layer.attn_norm.apply(&mut attended);
            let mut inner = layer.intermediate.forward(&attended, rows)?;
            inner.iter_mut().for_each(|v| *v = gelu(*v));
            let mut out = layer.output.forward(&inner, rows)?;
            add(&mut out, &attended);
            layer.out_norm.apply(&mut out);
            states.push(out);
        }
        Ok(states)
    }

    /// Scaled dot-product attention within each sentence, every head:
    /// `qkv` is `rows × 3·hidden` (queries, keys, values side by side);
    /// returns the context, `rows × hidden`.
    fn attend(&self, qkv: &[f32], spans: &[Range<usize>]) -> Vec<f32> {
        let hidden = self.hidden();
        let (dim, width) = (self.head_dim, 3 * hidden);
        let scale = 1.0 / (dim as f32).sqrt();
        let mut context = vec![0.0f32; spans.last().map_or(0, |s| s.end) * hidden];
        let mut scores = Vec::new();
        for span in spans {
            for head in 0..self.heads {
                let col = head * dim;
                let key = |j: usize| &qkv[j * width + hidden + col..][..dim];
                let value = |j: usize| &qkv[j * width + 2 * hidden + col..][..dim];
                for i in span.clone() {
                    let query = &qkv[i * width + col..][..dim];
                    scores.clear();
                    scores.extend(span.clone().map(|j| dot(query, key(j)) * scale));
                    softmax(&mut scores);
                    let out = &mut context[i * hidden + col..][..dim];
                    for (j, &p) in span.clone().zip(&scores) {
                        out.iter_mut().zip(value(j)).for_each(|(o, v)| *o += p * v);
                    }
                }
            }
        }
        context
    }
}

/// Row ranges of sentences packed one after another.
pub(super) fn spans(sentences: &[&[u32]]) -> Vec<Range<usize>> {
    let mut start = 0;
    sentences
        .iter()
        .map(|s| {
            let span = start..start + s.len();
            start = span.end;
            span
        })
        .collect()
}

fn add(x: &mut [f32], y: &[f32]) {
    x.iter_mut().zip(y).for_each(|(a, b)| *a += b);
}

/// In-place softmax of a non-empty slice.
fn softmax(x: &mut [f32]) {
    let max = x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    x.iter_mut().for_each(|v| *v = fastexp::exp(*v - max));
    let sum: f32 = x.iter().sum();
    x.iter_mut().for_each(|v| *v /= sum);
}

/// GELU as BERT defines it, `x·Φ(x) = x/2·(1 + erf(x/√2))`.
#[inline(always)]
fn gelu(x: f32) -> f32 {
    0.5 * x * (1.0 + erf(x * std::f32::consts::FRAC_1_SQRT_2))
}

/// The error function as Eigen and XLA compute it in single precision: a
/// rational function of `x` clamped to ±4 (beyond which `erf` is ±1 in f32),
/// absolute error below 5e-7 (a few f32 steps). Unlike the C library's `erf` it is plain
/// arithmetic without branches, so a loop over a layer's values vectorises;
/// the library call took a tenth of a one-sentence forward pass.
#[inline(always)]
fn erf(x: f32) -> f32 {
    let x = x.clamp(-4.0, 4.0);
    let x2 = x * x;
    let mut p = -2.726_142_3e-10_f32;
    for c in [2.770_681_4e-8, -2.101_024e-6, -5.692_506_4e-5, -7.349_906_3e-4, -2.9546e-3, -1.609_603_3e-2] {
        p = p * x2 + c;
    }
    let mut q = -1.456_607_2e-5_f32;
    for c in [-2.133_740_6e-4, -1.682_827e-3, -7.373_329e-3, -1.426_474e-2] {
        q = q * x2 + c;
    }
    x * p / q
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn erf_is_within_5e_7_of_the_series() {
        for i in -6000..=6000 {
            let x = i as f32 / 1000.0;
            let want = series_erf(f64::from(x));
            let got = f64::from(erf(x));
            assert!((got - want).abs() < 5e-7, "erf({x}) = {got}, want {want}");
        }
        assert!((erf(f32::INFINITY) - 1.0).abs() < 5e-7 && (erf(f32::NEG_INFINITY) + 1.0).abs() < 5e-7);
    }

    /// erf in f64 by its Taylor series (|x| ≤ 3) or continued fraction, to
    /// compare against without another dependency.
    fn series_erf(x: f64) -> f64 {
        if x.abs() > 3.0 {
            // erfc(x) = exp(-x²)/(x√π) · 1/(1 + 1/(2x²)/(1 + 2/(2x²)/(1 + …))).
            let (a, x2) = (x.abs(), x * x);
            let mut frac = 0.0;
            for k in (1..60).rev() {
                frac = f64::from(k) / 2.0 / x2 / (1.0 + frac);
            }
            let erfc = (-x2).exp() / (a * std::f64::consts::PI.sqrt()) / (1.0 + frac);
            return (1.0 - erfc).copysign(x);
        }
        let (mut term, mut sum) = (x, x);
        for n in 1..200 {
            term *= -x * x / f64::from(n);
            sum += term / f64::from(2 * n + 1);
        }
        sum * 2.0 / std::f64::consts::PI.sqrt()
    }

    #[test]
    fn softmax_sums_to_one_and_keeps_order() {
        let mut x = [1.0, 3.0, -2.0, 3.0];
        softmax(&mut x);
        assert!((x.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        assert!(x[1] == x[3] && x[1] > x[0] && x[0] > x[2]);
    }

    #[test]
    fn spans_pack_sentences_in_order() {
        let (a, b, c) = ([1, 2, 3], [4], [5, 6]);
        assert_eq!(spans(&[&a, &b, &c]), vec![0..3, 3..4, 4..6]);
    }
}
