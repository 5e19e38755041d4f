//! Sentence encoder for the neural layer: all-MiniLM-L6-v2 run with candle on
//! the CPU, producing the vectors of sentence-transformers (mean pooling over
//! real tokens, then L2 normalisation), so cosine similarity is a dot product.
//! The transformer itself is in [`minilm`]; its weights are rounded to bf16 at
//! load, which halves the memory a forward pass reads (see [`bf16`]) and moves
//! the vectors by less than 1e-3.

use std::path::{Path, PathBuf};

use candle_core::Device;
use candle_transformers::models::bert::Config;
use tokenizers::{Encoding, Tokenizer, TruncationParams};

mod bf16;
mod minilm;
use minilm::MiniLm;

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

/// Most word pieces in one forward pass of `features_batch`: enough rows
/// for gemm to run at full speed, few enough that the layer buffers stay a
/// few megabytes.
const BATCH_TOKEN_BUDGET: usize = 2048;

/// Sentence encoder: all-MiniLM-L6-v2 with candle, mean pooling, L2-normalised 384-d vectors.
///
/// Loaded once and shared: `embed` takes `&self`, so one encoder can serve
/// every request.
pub struct Encoder {
    model: MiniLm,
    tokenizer: Tokenizer,
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
    /// came to be rounded to bf16, when GELU's `erf` and the attention's `exp`
    /// became approximations that vectorise, and when the attention's dot
    /// products came to be summed in lanes).
    pub const VECTORS_ID: &str = "all-MiniLM-L6-v2-bf16-layers-3";

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

        Ok(Self { model, tokenizer })
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
        self.forward_packed(std::slice::from_ref(&encoding))?
            .pop()
            .ok_or_else(|| EncoderError::Inference("model returned no rows".into()))
    }

    /// Features of many texts, computed in batches of up to
    /// `BATCH_TOKEN_BUDGET` word pieces packed without padding.
    ///
    /// Returns one feature vector per text, in input order; each equals what
    /// [`Encoder::features`] gives for that text, up to float rounding.
    pub fn features_batch(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EncoderError> {
        let encodings = texts.iter().map(|text| self.encode(text)).collect::<Result<Vec<_>, _>>()?;
        let mut out = Vec::with_capacity(texts.len());
        let mut rest = encodings.as_slice();
        while !rest.is_empty() {
            let mut take = 1;
            let mut tokens = rest[0].get_ids().len();
            while take < rest.len() && tokens + rest[take].get_ids().len() <= BATCH_TOKEN_BUDGET {
                tokens += rest[take].get_ids().len();
                take += 1;
            }
            out.extend(self.forward_packed(&rest[..take])?);
            rest = &rest[take..];
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

    /// Runs sentences packed as rows (see [`minilm`]) and pools each
    /// sentence's rows after every layer: the features of
    /// [`Encoder::features_batch`], one vector per sentence. Pooling sums and
    /// then L2-normalises, which equals normalising the mean.
    fn forward_packed(&self, batch: &[Encoding]) -> Result<Vec<Vec<f32>>, EncoderError> {
        let ids: Vec<&[u32]> = batch.iter().map(Encoding::get_ids).collect();
        let states = self.model.forward(&ids).map_err(inference)?;
        let spans = minilm::spans(&ids);
        let mut features = vec![Vec::with_capacity(Self::FEATURES); batch.len()];
        // The last layer first: its normalised mean is the sentence embedding.
        for layer in states.iter().rev() {
            for (out, span) in features.iter_mut().zip(&spans) {
                let start = out.len();
                out.resize(start + Self::DIM, 0.0);
                let pooled = &mut out[start..];
                for row in layer[span.start * Self::DIM..span.end * Self::DIM].chunks_exact(Self::DIM) {
                    pooled.iter_mut().zip(row).for_each(|(p, v)| *p += v);
                }
                // An all-zero vector stays zero instead of becoming NaN, as in
                // sentence-transformers' Normalize module.
                let norm = pooled.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
                pooled.iter_mut().for_each(|x| *x /= norm);
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
