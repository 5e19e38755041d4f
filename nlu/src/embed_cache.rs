//! A disk cache of sentence embeddings, for evaluations that re-embed the same
//! corpora run after run. Embeddings are deterministic for a model, so a cache
//! keyed by the exact text (in a file named for the model) returns the very
//! vectors the encoder would compute.

use crate::engine::SentenceEncoder;
use rustc_hash::FxHashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Wraps an encoder; misses are computed by it and remembered.
pub struct CachedEncoder {
    inner: Box<dyn SentenceEncoder>,
    path: PathBuf,
    map: Mutex<(FxHashMap<String, Vec<f32>>, bool)>,
}

impl CachedEncoder {
    /// Loads the cache file if it exists (a damaged file is ignored and rebuilt).
    pub fn new(inner: Box<dyn SentenceEncoder>, path: &Path) -> Self {
        let map: FxHashMap<String, Vec<f32>> =
            std::fs::read(path).ok().and_then(|b| bincode::deserialize(&b).ok()).unwrap_or_default();
        CachedEncoder { inner, path: path.to_path_buf(), map: Mutex::new((map, false)) }
    }

    /// Writes the cache back if it grew.
    pub fn save(&self) -> std::io::Result<()> {
        let guard = self.map.lock().map_err(|_| std::io::Error::other("cache lock poisoned"))?;
        if !guard.1 {
            return Ok(());
        }
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let bytes = bincode::serialize(&guard.0).map_err(std::io::Error::other)?;
        let tmp = self.path.with_extension("tmp");
        std::fs::write(&tmp, bytes)?;
        std::fs::rename(tmp, &self.path)
    }
}

impl SentenceEncoder for CachedEncoder {
    fn embed_batch(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, String> {
        let missing: Vec<&str> = {
            let guard = self.map.lock().map_err(|_| "cache lock poisoned".to_string())?;
            texts.iter().copied().filter(|t| !guard.0.contains_key(*t)).collect()
        };
        let fresh = if missing.is_empty() { Vec::new() } else { self.inner.embed_batch(&missing)? };
        let mut guard = self.map.lock().map_err(|_| "cache lock poisoned".to_string())?;
        for (t, v) in missing.iter().zip(fresh) {
            guard.0.insert((*t).to_string(), v);
            guard.1 = true;
        }
        texts.iter().map(|t| guard.0.get(*t).cloned().ok_or_else(|| format!("no embedding for {t:?}"))).collect()
    }

    fn sentence_dim(&self) -> Option<usize> {
        self.inner.sentence_dim()
    }
}
