//! Sentence encoder for the neural layer: all-MiniLM-L6-v2 run with candle on
//! the CPU, producing the vectors of sentence-transformers (mean pooling over
//! real tokens, then L2 normalisation), so cosine similarity is a dot product.
//! The weights are rounded to bf16 at load, which halves the memory a forward
//! pass reads (see [`bf16`]) and moves the vectors by less than 1e-3.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Module, Tensor};
use candle_nn::LayerNorm;
use candle_transformers::models::bert::{Config, HiddenAct};
use tokenizers::{Encoding, Tokenizer, TruncationParams};

mod bf16;
use bf16::Bf16Matrix;

/// Files the encoder needs, in the order they are checked.
const MODEL_FILE: &str = "model.safetensors";
const TOKENIZER_FILE: &str = "tokenizer.json";
const CONFIG_FILE: &str = "config.json";

/// Longest input, in word pieces including `[CLS]` and `[SEP]`: the
/// sentence-transformers setting for this model (`max_seq_length`), so long
/// inputs are cut where the Python model cuts them.
const MAX_TOKENS: usize = 256;

/// First prefix of a long text that is tokenised (see `Encoder::encode`):
/// 256 word pieces of ordinary text take 1–2 KB.
const FIRST_WINDOW_BYTES: usize = 4 * 1024;

/// Bytes of input handed to the tokenizer at most, for texts whose first
/// 256 word pieces cannot be found in a shorter whitespace-cut prefix
/// (kilobytes of whitespace or of one unbroken "word"). Tokenising costs about
/// 0.2 µs per byte, so this bounds a hostile message to ~15 ms.
const MAX_INPUT_BYTES: usize = 64 * 1024;

/// Most padded tokens (rows × longest row) in one forward pass of
/// `embed_batch`: large enough to amortise per-call overhead, small enough
/// that attention over padding and memory stay cheap.
const BATCH_TOKEN_BUDGET: usize = 2048;

/// Most sentences in one forward pass of `embed_batch`.
const MAX_BATCH: usize = 64;

/// Sentence encoder: all-MiniLM-L6-v2 with candle, mean pooling, L2-normalised 384-d vectors.
///
/// Loaded once and shared: `embed` takes `&self`, so one encoder can serve
/// every request.
pub struct Encoder {
    model: MiniLm,
    tokenizer: Tokenizer,
    device: Device,
}

/// Why the encoder could not be loaded or could not embed a text.
#[derive(Debug, thiserror::Error)]
pub enum EncoderError {
    /// A model file is absent: the weights are not in git and must be fetched.
    #[error("model file {} is missing: run scripts/fetch-model.sh to fetch it", .path.display())]
    Missing {
        /// The file that was looked for.
        path: PathBuf,
    },
    /// A model file exists but could not be read or does not fit the model.
    #[error("cannot load the sentence encoder: {0}")]
    Load(String),
    /// Tokenisation or the forward pass failed.
    #[error("sentence encoder failed: {0}")]
    Inference(String),
}

/// Shorthand for turning a candle or tokenizer error into an inference error.
fn inference<E: std::fmt::Display>(e: E) -> EncoderError {
    EncoderError::Inference(e.to_string())
}

impl Encoder {
    /// Length of every embedding; callers size their indexes with it.
    pub const DIM: usize = 384;

    /// Names the vectors this encoder computes, for caches of them: it changes
    /// whenever the same text would embed differently (as when the weights
    /// came to be rounded to bf16).
    pub const VECTORS_ID: &str = "all-MiniLM-L6-v2-bf16-layers";

    /// Length of [`Encoder::features`]: the pooled states of all six layers.
    pub const FEATURES: usize = 6 * Self::DIM;

    /// Loads from a directory holding model.safetensors, tokenizer.json, config.json.
    ///
    /// Checks that all three files exist first, so a missing model gives one
    /// clear [`EncoderError::Missing`] rather than a parse error.
    pub fn load(dir: &Path) -> Result<Self, EncoderError> {
        let [model_path, tokenizer_path, config_path] =
            [MODEL_FILE, TOKENIZER_FILE, CONFIG_FILE].map(|name| dir.join(name));
        for path in [&model_path, &tokenizer_path, &config_path] {
            if !path.is_file() {
                return Err(EncoderError::Missing { path: path.clone() });
            }
        }
        let load_err = |path: &Path, e: &dyn std::fmt::Display| EncoderError::Load(format!("{}: {e}", path.display()));

        let config_text = std::fs::read_to_string(&config_path).map_err(|e| load_err(&config_path, &e))?;
        let config: Config = serde_json::from_str(&config_text).map_err(|e| load_err(&config_path, &e))?;
        if config.hidden_size != Self::DIM {
            return Err(load_err(
                &config_path,
                &format!("hidden_size is {}, expected {} (all-MiniLM-L6-v2)", config.hidden_size, Self::DIM),
            ));
        }
        if config.num_hidden_layers * Self::DIM != Self::FEATURES {
            return Err(load_err(
                &config_path,
                &format!("num_hidden_layers is {}, expected 6 (all-MiniLM-L6-v2)", config.num_hidden_layers),
            ));
        }

        let mut tokenizer = Tokenizer::from_file(&tokenizer_path).map_err(|e| load_err(&tokenizer_path, &e))?;
        // The shipped tokenizer pads every input to 128 tokens: a short
        // sentence would cost as much as a long one. Padding is done per batch.
        tokenizer.with_padding(None);
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: MAX_TOKENS.min(config.max_position_embeddings),
                ..TruncationParams::default()
            }))
            .map_err(|e| load_err(&tokenizer_path, &e))?;

        let device = Device::Cpu;
        // Read rather than mmap: the weights are copied into tensors either
        // way, and this needs no `unsafe`.
        let bytes = std::fs::read(&model_path).map_err(|e| load_err(&model_path, &e))?;
        let tensors = candle_core::safetensors::load_buffer(&bytes, &device).map_err(|e| load_err(&model_path, &e))?;
        drop(bytes);
        let model = MiniLm::load(&tensors, &config).map_err(|e| load_err(&model_path, &e))?;

        Ok(Self { model, tokenizer, device })
    }

    /// Embeds one text as a unit-length 384-d vector.
    ///
    /// Any text is accepted: empty or emoji-only text embeds the special
    /// tokens and `[UNK]`, long text is truncated to the first 256 word pieces.
    pub fn embed(&self, text: &str) -> Result<Vec<f32>, EncoderError> {
        Ok(sentence_part(self.features(text)?))
    }

    /// Embeds texts in batches; see [`Encoder::features_batch`].
    pub fn embed_batch(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EncoderError> {
        Ok(self.features_batch(texts)?.into_iter().map(sentence_part).collect())
    }

    /// The features of one text for a classifier: the sentence embedding of
    /// [`Encoder::embed`], then the mean of each earlier layer's states, each
    /// unit-length ([`Encoder::FEATURES`] values). Earlier layers keep more of
    /// the wording, which the last layer, trained for paraphrase similarity,
    /// smooths away; on CLINC150 a linear classifier over all six layers
    /// scores 0.8 points higher than over the last one alone.
    pub fn features(&self, text: &str) -> Result<Vec<f32>, EncoderError> {
        let encoding = self.encode(text)?;
        self.forward_padded(&[&encoding])?.pop().ok_or_else(|| EncoderError::Inference("model returned no rows".into()))
    }

    /// Batches of similar length for throughput (sort by length, pad within batch, attention mask, mean pooling that ignores padding).
    ///
    /// Returns one feature vector per text, in input order; each equals what
    /// [`Encoder::features`] gives for that text, up to float rounding.
    pub fn features_batch(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EncoderError> {
        let encodings = texts.iter().map(|text| self.encode(text)).collect::<Result<Vec<_>, _>>()?;
        let mut order: Vec<usize> = (0..encodings.len()).collect();
        order.sort_by_key(|&i| encodings[i].get_ids().len());

        let mut out = vec![Vec::new(); texts.len()];
        let mut start = 0;
        while start < order.len() {
            // Sorted ascending, so the last row of a batch is its longest.
            let mut end = start + 1;
            while end < order.len()
                && end - start < MAX_BATCH
                && (end - start + 1) * encodings[order[end]].get_ids().len() <= BATCH_TOKEN_BUDGET
            {
                end += 1;
            }
            let batch: Vec<&Encoding> = order[start..end].iter().map(|&i| &encodings[i]).collect();
            for (&i, row) in order[start..end].iter().zip(self.forward_padded(&batch)?) {
                out[i] = row;
            }
            start = end;
        }
        Ok(out)
    }

    /// Tokenises one text, truncated to `MAX_TOKENS` word pieces.
    ///
    /// The tokenizer works on the whole text before truncating, so a 100 KB
    /// message would cost ~25 ms for 256 tokens. Instead, growing prefixes cut
    /// at ASCII whitespace are tried: the tokenizer never joins text across
    /// whitespace, so once such a prefix yields `MAX_TOKENS` tokens they are
    /// exactly the first tokens of the full text.
    fn encode(&self, text: &str) -> Result<Encoding, EncoderError> {
        let mut window = FIRST_WINDOW_BYTES;
        while window < text.len().min(MAX_INPUT_BYTES) {
            let head = &text[..floor_char_boundary(text, window)];
            if let Some(cut) = head.rfind([' ', '\t', '\n', '\r']) {
                let encoding = self.tokenize(&text[..cut])?;
                if encoding.get_ids().len() >= MAX_TOKENS {
                    return Ok(encoding);
                }
            }
            window *= 4;
        }
        self.tokenize(&text[..floor_char_boundary(text, MAX_INPUT_BYTES)])
    }

    /// Runs the tokenizer (with `[CLS]`/`[SEP]`, truncation, no padding).
    fn tokenize(&self, text: &str) -> Result<Encoding, EncoderError> {
        self.tokenizer.encode_fast(text, true).map_err(inference)
    }

    /// Runs one batch, padded to its longest row, and mean-pools each row
    /// over its real tokens, after every layer: the features of
    /// [`Encoder::features_batch`], one vector per row.
    fn forward_padded(&self, batch: &[&Encoding]) -> Result<Vec<Vec<f32>>, EncoderError> {
        let rows = batch.len();
        let width = batch.iter().map(|e| e.get_ids().len()).max().unwrap_or(0);
        let mut ids = vec![0u32; rows * width];
        let mut mask = vec![0u32; rows * width];
        for (r, encoding) in batch.iter().enumerate() {
            let n = encoding.get_ids().len();
            ids[r * width..r * width + n].copy_from_slice(encoding.get_ids());
            mask[r * width..r * width + n].fill(1);
        }
        let ids = Tensor::from_vec(ids, (rows, width), &self.device).map_err(inference)?;

        // Rows of one length (always so for a single text) need no mask, and
        // their mean is a plain mean: the same path as `embed`.
        let pooled: Vec<Tensor> = if batch.iter().all(|e| e.get_ids().len() == width) {
            let states = self.model.forward(&ids, None).map_err(inference)?;
            states.iter().map(|h| h.mean(1)).collect::<candle_core::Result<_>>().map_err(inference)?
        } else {
            let mask = Tensor::from_vec(mask, (rows, width), &self.device).map_err(inference)?;
            let states = self.model.forward(&ids, Some(&mask)).map_err(inference)?;
            // sum(hidden * mask) / sum(mask): padding contributes nothing.
            let mask = mask.to_dtype(DType::F32).and_then(|m| m.unsqueeze(2)).map_err(inference)?;
            let counts = mask.sum(1).map_err(inference)?;
            states
                .iter()
                .map(|h| h.broadcast_mul(&mask)?.sum(1)?.broadcast_div(&counts))
                .collect::<candle_core::Result<_>>()
                .map_err(inference)?
        };
        // The last layer first: its normalised mean is the sentence embedding.
        let mut features = vec![Vec::with_capacity(Self::FEATURES); rows];
        for layer in pooled.iter().rev() {
            for (out, row) in features.iter_mut().zip(normalised_rows(layer)?) {
                out.extend(row);
            }
        }
        Ok(features)
    }
}

/// The sentence embedding at the head of a feature vector.
fn sentence_part(mut features: Vec<f32>) -> Vec<f32> {
    features.truncate(Encoder::DIM);
    features
}

/// Largest char boundary of `text` at or below `index` (clamped to its length).
fn floor_char_boundary(text: &str, index: usize) -> usize {
    let mut cut = index.min(text.len());
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    cut
}

/// A dense layer `y = x·Wᵀ + b`, its weights rounded to bf16 once at load.
///
/// Both paths compute with the same rounded weights, so a sentence embeds the
/// same alone or in a batch (up to float summation order).
struct Linear {
    /// For few rows: the bf16 product of [`bf16`], bound by memory.
    rounded: Bf16Matrix,
    bias: Vec<f32>,
    /// For batches: the rounded weights as f32, `(out, in)`, for candle's gemm,
    /// which is compute-bound there and faster.
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

    /// `x` is `(rows, in)`; returns `(rows, out)`.
    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let rows = x.dim(0)?;
        if rows <= Self::FEW_ROWS {
            let y = self.rounded.forward(&x.flatten_all()?.to_vec1::<f32>()?, rows, &self.bias);
            return Tensor::from_vec(y, (rows, self.bias.len()), x.device());
        }
        x.matmul(&self.weight.t()?)?.broadcast_add(&self.bias_tensor)
    }
}

/// One transformer block of BERT (post-norm), eval mode (no dropout).
struct Layer {
    /// Query, key and value projections fused into one `(3·hidden, hidden)` matmul.
    qkv: Linear,
    attn_out: Linear,
    attn_norm: LayerNorm,
    intermediate: Linear,
    output: Linear,
    out_norm: LayerNorm,
}

/// The all-MiniLM-L6-v2 transformer: BERT embeddings and encoder, written
/// out here (about the size of candle's `BertModel`) so the matmuls can use
/// the faster orientation described on [`Linear::forward`].
struct MiniLm {
    word_embeddings: Tensor,
    position_embeddings: Tensor,
    /// Token-type 0 row: every input is a single segment.
    token_type_embedding: Tensor,
    embed_norm: LayerNorm,
    layers: Vec<Layer>,
    heads: usize,
    head_dim: usize,
}

impl MiniLm {
    /// Builds the model from the checkpoint tensors (HF `BertModel` names,
    /// with or without a `bert.` prefix), checking every shape.
    fn load(tensors: &HashMap<String, Tensor>, config: &Config) -> candle_core::Result<Self> {
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
        let eps = config.layer_norm_eps;
        let norm = |prefix: &str| -> candle_core::Result<LayerNorm> {
            Ok(LayerNorm::new(
                get(&format!("{prefix}.weight"), &[hidden])?,
                get(&format!("{prefix}.bias"), &[hidden])?,
                eps,
            ))
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
            )?,
            token_type_embedding: get("embeddings.token_type_embeddings.weight", &[config.type_vocab_size, hidden])?
                .narrow(0, 0, 1)?,
            embed_norm: norm("embeddings.LayerNorm")?,
            layers,
            heads,
            head_dim: hidden / heads,
        })
    }

    /// `ids` is `(batch, seq)`; `mask` (same shape, 1 = real token) is needed
    /// only when rows are padded. Returns the hidden states after each layer,
    /// first to last, each `(batch, seq, hidden)`.
    fn forward(&self, ids: &Tensor, mask: Option<&Tensor>) -> candle_core::Result<Vec<Tensor>> {
        let (batch, seq) = ids.dims2()?;
        let hidden = self.heads * self.head_dim;
        let rows = batch * seq;

        let words = self.word_embeddings.index_select(&ids.flatten_all()?, 0)?;
        let words = words.reshape((batch, seq, hidden))?;
        let positions = self.position_embeddings.narrow(0, 0, seq)?;
        let x = words.broadcast_add(&positions)?.broadcast_add(&self.token_type_embedding)?;
        let mut x = self.embed_norm.forward(&x)?.reshape((rows, hidden))?;

        // Additive attention bias: 0 for real tokens, a huge negative for
        // padding, broadcast over heads and query positions.
        let bias = match mask {
            Some(mask) => {
                let pad = (1.0 - mask.to_dtype(DType::F32)?)?;
                Some((pad * f64::from(f32::MIN))?.reshape((batch, 1, 1, seq))?)
            }
            None => None,
        };
        let scale = 1.0 / (self.head_dim as f64).sqrt();

        let mut states = Vec::with_capacity(self.layers.len());
        for layer in &self.layers {
            let qkv = layer.qkv.forward(&x)?;
            // (rows, hidden) slice -> (batch, heads, seq, head_dim)
            let split = |i: usize| -> candle_core::Result<Tensor> {
                qkv.narrow(1, i * hidden, hidden)?
                    .reshape((batch, seq, self.heads, self.head_dim))?
                    .transpose(1, 2)?
                    .contiguous()
            };
            let (q, k, v) = (split(0)?, split(1)?, split(2)?);
            let mut scores = (q.matmul(&k.t()?)? * scale)?;
            if let Some(bias) = &bias {
                scores = scores.broadcast_add(bias)?;
            }
            let probs = candle_nn::ops::softmax_last_dim(&scores)?;
            let context = probs.matmul(&v)?.transpose(1, 2)?.reshape((rows, hidden))?;
            let attended = (layer.attn_out.forward(&context)? + &x)?;
            let attended = layer.attn_norm.forward(&attended)?;
            let inner = layer.intermediate.forward(&attended)?.gelu_erf()?;
            let out = (layer.output.forward(&inner)? + &attended)?;
            x = layer.out_norm.forward(&out)?;
            states.push(x.reshape((batch, seq, hidden))?);
        }
        Ok(states)
    }
}

/// L2-normalises each row of a `(rows, DIM)` tensor, as sentence-transformers'
/// Normalize module does (an all-zero row stays zero instead of becoming NaN).
fn normalised_rows(pooled: &Tensor) -> Result<Vec<Vec<f32>>, EncoderError> {
    let mut rows = pooled.to_vec2::<f32>().map_err(inference)?;
    for row in &mut rows {
        let norm = row.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
        row.iter_mut().for_each(|x| *x /= norm);
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The model directory used by the tests, relative to the crate.
    fn model_dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/all-MiniLM-L6-v2")
    }

    /// Loads the encoder, or returns `None` with a printed note when the model
    /// has not been fetched; any other load failure fails the test.
    fn encoder() -> Option<Encoder> {
        match Encoder::load(&model_dir()) {
            Ok(encoder) => Some(encoder),
            Err(EncoderError::Missing { path }) => {
                // Straight to stderr, not `eprintln!`: the test harness
                // captures the macros, and a skip must be visible.
                use std::io::Write as _;
                let _ = writeln!(
                    std::io::stderr(),
                    "SKIPPED encoder test: {} is missing; run scripts/fetch-model.sh",
                    path.display()
                );
                None
            }
            Err(e) => panic!("model present but failed to load: {e}"),
        }
    }

    fn cosine(a: &[f32], b: &[f32]) -> f32 {
        a.iter().zip(b).map(|(x, y)| x * y).sum()
    }

    fn assert_unit(v: &[f32]) {
        assert_eq!(v.len(), Encoder::DIM);
        assert!(v.iter().all(|x| x.is_finite()));
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-4, "norm {norm}");
    }

    #[test]
    fn missing_directory_names_the_file_and_the_script() {
        let dir = Path::new("/nonexistent/pipilu-model-dir");
        let err = Encoder::load(dir).err().expect("load must fail");
        assert!(matches!(err, EncoderError::Missing { .. }));
        let msg = err.to_string();
        assert!(msg.contains("/nonexistent/pipilu-model-dir/model.safetensors"), "{msg}");
        assert!(msg.contains("scripts/fetch-model.sh"), "{msg}");
    }

    #[test]
    fn same_sentence_scores_one_and_paraphrase_beats_unrelated() {
        let Some(enc) = encoder() else { return };
        let a = enc.embed("restart the latte service").unwrap();
        let a2 = enc.embed("restart the latte service").unwrap();
        let para = enc.embed("please bounce latte").unwrap();
        let unrelated = enc.embed("what is the weather like in Paris tomorrow").unwrap();
        assert_unit(&a);
        assert!((cosine(&a, &a2) - 1.0).abs() < 1e-5);
        let (p, u) = (cosine(&a, &para), cosine(&a, &unrelated));
        assert!(p > u + 0.1, "paraphrase {p} vs unrelated {u}");

        let deploy = enc.embed("deploy api to production").unwrap();
        let ship = enc.embed("ship the api service to prod").unwrap();
        let lunch = enc.embed("where should we go for lunch").unwrap();
        assert!(cosine(&deploy, &ship) > cosine(&deploy, &lunch) + 0.1);
    }

    #[test]
    fn matches_sentence_transformers() {
        let Some(enc) = encoder() else { return };
        // SentenceTransformer("all-MiniLM-L6-v2").encode("This is an example
        // sentence"): first and last dimensions, from a float64 reference.
        // The weights are rounded to bf16 (relative error at most 2^-9), which
        // moves each dimension by up to ~3e-4; a wrong model or pooling would
        // be off by far more.
        let v = enc.embed("This is an example sentence").unwrap();
        let head = [0.067657, 0.063496, 0.048713, 0.079305, 0.037448, 0.002653];
        let tail = [-0.019192, 0.038071, 0.059965, -0.042229];
        for (got, want) in v.iter().zip(head).chain(v[Encoder::DIM - 4..].iter().zip(tail)) {
            assert!((got - want).abs() < 1e-3, "{got} vs {want}");
        }
    }

    #[test]
    fn odd_inputs_do_not_panic() {
        let Some(enc) = encoder() else { return };
        let huge = "restart the latte service now ".repeat(100 * 1024 / 30);
        for text in ["", " ", "🚀🔥🎉", "\u{0}\u{200b}", "é".repeat(40_000).as_str(), &huge] {
            assert_unit(&enc.embed(text).unwrap());
        }
        // Multi-byte characters straddling the input cuts must not panic.
        for pad in 0..4 {
            let straddle = format!("{}{}", "a".repeat(pad), "é€😀 ".repeat(MAX_INPUT_BYTES / 4));
            assert_unit(&enc.embed(&straddle).unwrap());
        }
    }

    #[test]
    fn long_text_cut_early_gives_the_same_tokens() {
        let Some(enc) = encoder() else { return };
        let long = "roll back the checkout deploy, it's failing health-checks! ".repeat(2000);
        let fast = enc.encode(&long).unwrap();
        let full = enc.tokenize(&long).unwrap();
        assert_eq!(fast.get_ids().len(), MAX_TOKENS);
        assert_eq!(fast.get_ids(), full.get_ids());
    }

    #[test]
    fn batch_matches_single_and_keeps_order() {
        let Some(enc) = encoder() else { return };
        let long = "the quick brown fox jumps over the lazy dog ".repeat(40);
        let texts = [
            "restart the latte service",
            "",
            long.as_str(),
            "please bounce latte",
            "🚀",
            "roll back the last deploy of checkout because it is failing health checks",
        ];
        let batch = enc.embed_batch(&texts).unwrap();
        assert_eq!(batch.len(), texts.len());
        for (text, got) in texts.iter().zip(&batch) {
            let want = enc.embed(text).unwrap();
            assert_unit(got);
            let c = cosine(got, &want);
            assert!(c > 0.9999, "batch vs single for {text:?}: {c}");
        }
        assert!(enc.embed_batch(&[]).unwrap().is_empty());
    }
}
