//! Sentence encoder for the neural layer: all-MiniLM-L6-v2 run with candle on
//! the CPU, producing the same vectors as sentence-transformers (mean pooling
//! over real tokens, then L2 normalisation), so cosine similarity is a dot
//! product.

use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};
use tokenizers::{Encoding, Tokenizer, TruncationParams};

/// Files the encoder needs, in the order they are checked.
const MODEL_FILE: &str = "model.safetensors";
const TOKENIZER_FILE: &str = "tokenizer.json";
const CONFIG_FILE: &str = "config.json";

/// Longest input, in word pieces including `[CLS]` and `[SEP]`: the
/// sentence-transformers setting for this model (`max_seq_length`), so long
/// inputs are cut where the Python model cuts them.
const MAX_TOKENS: usize = 256;

/// Bytes of input handed to the tokenizer at most. A word piece never spans
/// more than ~100 bytes of text, so this keeps every text that fits in
/// `MAX_TOKENS` intact while bounding the work a huge message can cause.
const MAX_INPUT_BYTES: usize = 32 * 1024;

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
    model: BertModel,
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
        let mut tensors =
            candle_core::safetensors::load_buffer(&bytes, &device).map_err(|e| load_err(&model_path, &e))?;
        drop(bytes);
        for (name, tensor) in tensors.iter_mut() {
            if name.contains("encoder.layer.") && tensor.rank() == 2 {
                *tensor = column_major(tensor).map_err(|e| load_err(&model_path, &e))?;
            }
        }
        let vb = VarBuilder::from_tensors(tensors, DType::F32, &device);
        let model = BertModel::load(vb, &config).map_err(|e| load_err(&model_path, &e))?;

        Ok(Self { model, tokenizer, device })
    }

    /// Embeds one text as a unit-length 384-d vector.
    ///
    /// Any text is accepted: empty or emoji-only text embeds the special
    /// tokens and `[UNK]`, long text is truncated to the first 256 word pieces.
    pub fn embed(&self, text: &str) -> Result<Vec<f32>, EncoderError> {
        let encoding = self.encode(text)?;
        let len = encoding.get_ids().len();
        let ids = Tensor::from_slice(encoding.get_ids(), (1, len), &self.device).map_err(inference)?;
        let type_ids = ids.zeros_like().map_err(inference)?;
        // One unpadded row: every token is real, so no mask is needed and the
        // mean is a plain mean over the sequence.
        let hidden = self.model.forward(&ids, &type_ids, None).map_err(inference)?;
        let pooled = hidden.mean(1).map_err(inference)?;
        let mut rows = normalised_rows(&pooled)?;
        rows.pop().ok_or_else(|| EncoderError::Inference("model returned no rows".into()))
    }

    /// Batches of similar length for throughput (sort by length, pad within batch, attention mask, mean pooling that ignores padding).
    ///
    /// Returns one vector per text, in input order; each equals what
    /// [`Encoder::embed`] gives for that text, up to float rounding.
    pub fn embed_batch(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EncoderError> {
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

    /// Tokenises one text, cutting pathological inputs before the tokenizer
    /// so a 100 KB message costs no more than a 32 KB one.
    fn encode(&self, text: &str) -> Result<Encoding, EncoderError> {
        let mut cut = text.len().min(MAX_INPUT_BYTES);
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        self.tokenizer.encode_fast(&text[..cut], true).map_err(inference)
    }

    /// Runs one padded batch and mean-pools each row over its real tokens.
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
        let mask = Tensor::from_vec(mask, (rows, width), &self.device).map_err(inference)?;
        let type_ids = ids.zeros_like().map_err(inference)?;
        let hidden = self.model.forward(&ids, &type_ids, Some(&mask)).map_err(inference)?;

        // sum(hidden * mask) / sum(mask): padding contributes nothing.
        let mask = mask.to_dtype(DType::F32).and_then(|m| m.unsqueeze(2)).map_err(inference)?;
        let summed = hidden.broadcast_mul(&mask).and_then(|h| h.sum(1)).map_err(inference)?;
        let counts = mask.sum(1).map_err(inference)?;
        let pooled = summed.broadcast_div(&counts).map_err(inference)?;
        normalised_rows(&pooled)
    }
}

/// Same `(out, in)` matrix, stored column-major.
///
/// A linear layer computes `x · Wᵀ`. With `W` row-major, gemm re-packs the
/// whole weight matrix with scalar strided loads on every call, which was
/// two thirds of the time of a short sentence; with `Wᵀ` contiguous it
/// streams the weights as they are. The values are unchanged.
fn column_major(w: &Tensor) -> candle_core::Result<Tensor> {
    w.t()?.contiguous()?.t()
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
                println!(
                    "SKIPPED: model file {} is missing; run scripts/fetch-model.sh to run this test",
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
    fn odd_inputs_do_not_panic() {
        let Some(enc) = encoder() else { return };
        let huge = "restart the latte service now ".repeat(100 * 1024 / 30);
        for text in ["", " ", "🚀🔥🎉", "\u{0}\u{200b}", "é".repeat(40_000).as_str(), &huge] {
            assert_unit(&enc.embed(text).unwrap());
        }
        // Multi-byte characters straddling the input cut must not panic.
        let straddle = format!("a{}", "é".repeat(MAX_INPUT_BYTES));
        assert_unit(&enc.embed(&straddle).unwrap());
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
