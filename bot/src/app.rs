//! Putting pipilu together from a [`Config`]: the NLU engine, the demo estate,
//! the skills and the core, with the inventory loaded into the gazetteer.

use crate::cli::nlu::{ENCODER_DIR, MODEL_FILE, chatops_data, chatops_engine, train_chatops};
use crate::config::{Config, NluConfig};
use crate::core::Core;
use crate::embedded::TRAINING_DATA;
use anyhow::{Context as _, Result};
use nlu::Engine;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A started core and how its NLU came to be (said once on stderr).
pub struct Started {
    /// The core, shared by the adapter and the inventory timer.
    pub core: Arc<Core>,
    /// Which NLU layers run and where the model came from.
    pub note: String,
    /// Time from the start of loading to a ready core.
    pub elapsed: Duration,
}

/// Loads the saved model (with the MiniLM encoder when present and wanted), or
/// else the lexical model trained from the built-in data: from the cache when an
/// earlier run of this binary trained it, else trained now (a few seconds) and
/// cached. Training the neural head at start would take ~20 s, so without a saved
/// model the engine runs lexical-only and the note says how to get the neural layer.
pub fn load_engine(cfg: &NluConfig) -> Result<(Engine, String)> {
    let t = Instant::now();
    let model = cfg.models.join(MODEL_FILE);
    let encoder_dir = cfg.models.join(ENCODER_DIR);
    let saved = model.exists();
    let encoder = if saved && cfg.neural {
        nlu::load_encoder(&encoder_dir).map_err(|e| anyhow::anyhow!(e)).context("loading the sentence encoder")?
    } else {
        None
    };
    let had_encoder = encoder.is_some();
    let cache = if cfg.cache { cache_file() } else { None };
    let (mut engine, how) = if saved {
        (chatops_engine(&cfg.models, encoder)?, format!("loaded {}", model.display()))
    } else if let Some(engine) = cache.as_deref().and_then(load_cached) {
        (engine, "cached model of the built-in data".to_string())
    } else {
        let engine = train_chatops(&chatops_data(None)?, None, false)?;
        if let Some(path) = &cache {
            save_cached(&engine, path);
        }
        (engine, "trained from the built-in data".to_string())
    };
    engine.set_thresholds(cfg.thresholds.apply(engine.thresholds()));
    let mut note = format!("NLU {} ({how}, {:.1} s)", engine.layers().join(" + "), t.elapsed().as_secs_f64());
    if !engine.has_neural() {
        let why = if !cfg.neural {
            "neural layer off (--no-neural or [nlu] neural = false)".to_string()
        } else if !saved {
            format!("no {}; `pipilu nlu train` adds the neural layer", model.display())
        } else if !engine.model_has_neural() {
            "the saved model has no neural layer".to_string()
        } else if !had_encoder {
            format!("encoder not found in {} (scripts/fetch-model.sh)", encoder_dir.display())
        } else {
            "neural layer unavailable".to_string()
        };
        note = format!("{note}; {why}");
    }
    Ok((engine, note))
}

/// FNV-1a, enough to tell one build's training data from another's.
fn fnv(hash: &mut u64, bytes: &[u8]) {
    for b in bytes {
        *hash ^= u64::from(*b);
        *hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
}

/// Where the model trained from the built-in data is cached: one file per build of
/// the binary (its training data, version, size and time), in `$XDG_CACHE_HOME/pipilu`
/// or `~/.cache/pipilu`.
fn cache_file() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    for (name, text) in TRAINING_DATA {
        fnv(&mut h, name.as_bytes());
        fnv(&mut h, text.as_bytes());
    }
    fnv(&mut h, env!("CARGO_PKG_VERSION").as_bytes());
    let exe = std::env::current_exe().and_then(std::fs::metadata).ok()?;
    fnv(&mut h, &exe.len().to_le_bytes());
    let mtime = exe.modified().ok()?.duration_since(std::time::UNIX_EPOCH).ok()?;
    fnv(&mut h, &mtime.as_nanos().to_le_bytes());
    Some(base.join("pipilu").join(format!("chatops-{h:016x}.bin")))
}

fn load_cached(path: &Path) -> Option<Engine> {
    if !path.exists() {
        return None;
    }
    match Engine::load(path, None) {
        Ok(e) => Some(e),
        Err(e) => {
            tracing::warn!("ignoring the cached model: {e}");
            None
        }
    }
}

/// Writes the cache atomically (other pipilu processes may be reading) and removes older ones.
fn save_cached(engine: &Engine, path: &Path) {
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let saved = engine
        .save(&tmp)
        .map_err(|e| e.to_string())
        .and_then(|()| std::fs::rename(&tmp, path).map_err(|e| e.to_string()));
    if let Err(e) = saved {
        tracing::debug!("not caching the model at {}: {e}", path.display());
        let _ = std::fs::remove_file(&tmp);
        return;
    }
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else { return };
    for old in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let n = old.file_name();
        let n = n.to_string_lossy();
        if n.starts_with("chatops-") && n.ends_with(".bin") && *n != *name.to_string_lossy() {
            let _ = std::fs::remove_file(old.path());
        }
    }
}

/// Builds the core on the configured backends (the demo estate when none are
/// configured) and loads the inventory into the gazetteer.
pub async fn build_core(config: &Config, engine: Engine) -> Result<Arc<Core>> {
    let backends = match crate::wiring::backends(&config.backends).context("setting up the backends")? {
        Some(b) => b,
        None => Arc::new(skills::DemoEstate::new(config.demo.seed)).backends(),
    };
    let core = Core::new(engine, skills::registry(), backends, config.policy());
    for e in core.refresh_inventory().await {
        tracing::warn!("inventory: {e}");
    }
    Ok(Arc::new(core))
}

/// Loads the engine (on a blocking thread) and builds the core.
pub async fn start(config: Config) -> Result<Started> {
    let t = Instant::now();
    let nlu = config.nlu.clone();
    let (engine, note) = tokio::task::spawn_blocking(move || load_engine(&nlu)).await.context("loading the NLU")??;
    let core = build_core(&config, engine).await?;
    Ok(Started { core, note, elapsed: t.elapsed() })
}

/// Refreshes the inventory every `every` until the runtime stops (long-running modes).
pub fn spawn_inventory_refresh(core: Arc<Core>, every: Duration) -> Option<tokio::task::JoinHandle<()>> {
    if every.is_zero() {
        return None;
    }
    Some(tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.tick().await;
        loop {
            tick.tick().await;
            for e in core.refresh_inventory().await {
                tracing::warn!("inventory: {e}");
            }
        }
    }))
}
