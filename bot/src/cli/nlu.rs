//! `pipilu nlu train | parse | eval`.

use crate::embedded::TRAINING_DATA;
use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use nlu::datasets::{self, Corpus};
use nlu::embed_cache::CachedEncoder;
use nlu::eval::{self, Prediction};
use nlu::yaml::DataSet;
use nlu::{Engine, Parse, Resolved, SentenceEncoder, Stage, Thresholds, TrainOptions};
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

#[derive(Debug, Args)]
pub struct NluArgs {
    /// Folder of model files: the trained model and `all-MiniLM-L6-v2/`.
    #[arg(long, global = true, default_value = "models")]
    models: PathBuf,
    /// Run lexical-only even where the neural layer's files are present.
    #[arg(long, global = true)]
    no_neural: bool,
    #[command(subcommand)]
    command: NluCommand,
}

#[derive(Debug, Subcommand)]
enum NluCommand {
    /// Train the ChatOps model and write it to `<models>/pipilu-nlu.bin`.
    Train {
        /// Folder of training YAML (default: the data built into the binary).
        #[arg(long)]
        data: Option<PathBuf>,
    },
    /// Parse text and print intent, confidence, slots and alternatives.
    Parse {
        /// The text to parse (omit with --jsonl).
        text: Option<String>,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
        /// Read one text per line on stdin, print one JSON object per line.
        #[arg(long)]
        jsonl: bool,
    },
    /// Train on a dataset's train split and score its test split.
    Eval {
        /// Dataset format.
        #[arg(long, value_enum)]
        format: Format,
        /// Dataset path (for `pipilu`: the folder holding `train/` and `test/`).
        #[arg(long)]
        dataset: PathBuf,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
        /// Also list every misclassified sentence and slot error.
        #[arg(long)]
        errors: bool,
        /// Do not cache sentence embeddings in ~/.cache/pipilu (the cache returns the
        /// very vectors the encoder computes; it only saves time on re-runs).
        #[arg(long)]
        no_cache: bool,
        /// Also write each test sentence's intent probabilities to FILE, one JSON object a line.
        #[arg(long, value_name = "FILE")]
        predictions: Option<PathBuf>,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Format {
    SnipsJoint,
    Clinc150,
    Braun,
    Pipilu,
}

/// The saved model's file name in the models folder.
pub const MODEL_FILE: &str = "pipilu-nlu.bin";
/// The sentence encoder's folder in the models folder.
pub const ENCODER_DIR: &str = "all-MiniLM-L6-v2";

pub fn run(args: NluArgs) -> Result<ExitCode> {
    match args.command {
        NluCommand::Train { ref data } => train(&args, data.as_deref()),
        NluCommand::Parse { ref text, json, jsonl } => parse(&args, text.as_deref(), json, jsonl),
        NluCommand::Eval { format, ref dataset, json, errors, no_cache, ref predictions } => {
            evaluate(&args, format, dataset, json, errors, no_cache, predictions.as_deref())
        }
    }
}

/// The encoder if wanted and present; says once on stderr when the neural layer is off.
fn encoder(args: &NluArgs, quiet: bool) -> Result<Option<Box<dyn SentenceEncoder>>> {
    if args.no_neural {
        return Ok(None);
    }
    let dir = args.models.join(ENCODER_DIR);
    let enc = nlu::load_encoder(&dir).map_err(|e| anyhow::anyhow!(e)).context("loading the sentence encoder")?;
    if enc.is_none() && !quiet {
        eprintln!(
            "note: neural layer off ({} not found; run scripts/fetch-model.sh); running lexical-only",
            dir.display()
        );
    }
    Ok(enc)
}

/// Reads the ChatOps training data from a folder, or from the copy built into the binary.
pub fn chatops_data(dir: Option<&Path>) -> Result<DataSet> {
    if let Some(d) = dir {
        return DataSet::load_dir(d).context("reading training data");
    }
    let mut set = DataSet::default();
    for (name, text) in TRAINING_DATA {
        set.load_str(Path::new(&format!("fixtures/nlu/train/{name}")), text)?;
    }
    Ok(set)
}

struct Bars {
    bar: Option<ProgressBar>,
    stage: Option<Stage>,
    enabled: bool,
}

impl Bars {
    fn new(enabled: bool) -> Self {
        Bars { bar: None, stage: None, enabled }
    }
    fn update(&mut self, stage: Stage, done: usize, total: usize) {
        if !self.enabled {
            return;
        }
        if self.stage != Some(stage) {
            if let Some(b) = self.bar.take() {
                b.finish();
            }
            let b = ProgressBar::new(total as u64);
            b.set_style(
                ProgressStyle::with_template("{prefix:>10} [{bar:30}] {pos}/{len} {elapsed}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
            );
            b.set_prefix(format!("{stage:?}").to_lowercase());
            self.bar = Some(b);
            self.stage = Some(stage);
        }
        if let Some(b) = &self.bar {
            b.set_position(done as u64);
        }
    }
    fn finish(&mut self) {
        if let Some(b) = self.bar.take() {
            b.finish();
        }
    }
}

/// Trains the ChatOps engine on a data set.
pub fn train_chatops(data: &DataSet, enc: Option<Box<dyn SentenceEncoder>>, bars: bool) -> Result<Engine> {
    let gaz = nlu::gazetteer_from(data);
    let mut b = Bars::new(bars);
    let engine =
        Engine::train(&data.examples, &[], gaz, enc, &TrainOptions::default(), &mut |s, d, t| b.update(s, d, t))?;
    b.finish();
    Ok(engine)
}

fn train(args: &NluArgs, data: Option<&Path>) -> Result<ExitCode> {
    let set = chatops_data(data)?;
    let enc = encoder(args, false)?;
    let t = Instant::now();
    let engine = train_chatops(&set, enc, std::io::IsTerminal::is_terminal(&std::io::stderr()))?;
    let path = args.models.join(MODEL_FILE);
    engine.save(&path)?;
    let th = engine.thresholds();
    eprintln!(
        "trained on {} examples ({}) in {:.2} s; confidence threshold {:.2} ({:.2} for risky intents){}; wrote {}",
        set.examples.len(),
        engine.layers().join(" + "),
        t.elapsed().as_secs_f64(),
        th.min_confidence,
        th.risky_min_confidence.max(th.min_confidence),
        if engine.has_neural() {
            format!("; neural layer skipped at lexical confidence {:.3} and above", th.lexical_sure)
        } else {
            String::new()
        },
        path.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// The ChatOps engine: the saved model if there is one, else trained now from the built-in data.
///
/// Without a saved model it trains lexical-only (about two seconds): embedding the
/// training set for the neural head takes half a minute, which is `pipilu nlu train`'s job.
pub fn chatops_engine(models: &Path, enc: Option<Box<dyn SentenceEncoder>>) -> Result<Engine> {
    let path = models.join(MODEL_FILE);
    if path.exists() {
        return Engine::load(&path, enc).with_context(|| format!("loading {}", path.display()));
    }
    let set = chatops_data(None)?;
    train_chatops(&set, None, false)
}

fn parse(args: &NluArgs, text: Option<&str>, json: bool, jsonl: bool) -> Result<ExitCode> {
    let quiet = json || jsonl;
    let enc = encoder(args, quiet)?;
    if !quiet && !args.models.join(MODEL_FILE).exists() {
        eprintln!(
            "note: no {} yet: trained a lexical-only model from the built-in data (`pipilu nlu train` adds the neural layer)",
            args.models.join(MODEL_FILE).display()
        );
    }
    let engine = chatops_engine(&args.models, enc)?;
    if jsonl {
        let stdin = std::io::stdin();
        let mut out = std::io::BufWriter::new(std::io::stdout().lock());
        let mut buf = Vec::new();
        let mut reader = stdin.lock();
        let mut line_no = 0usize;
        loop {
            buf.clear();
            if reader.read_until(b'\n', &mut buf)? == 0 {
                break;
            }
            line_no += 1;
            let line = match std::str::from_utf8(&buf) {
                Ok(s) => s.trim_end_matches(['\n', '\r']),
                Err(e) => {
                    let v = serde_json::json!({ "line": line_no, "error": format!("invalid UTF-8: {e}") });
                    writeln!(out, "{v}")?;
                    continue;
                }
            };
            writeln!(out, "{}", to_json(&engine.parse(line)))?;
        }
        out.flush()?;
        return Ok(ExitCode::SUCCESS);
    }
    let Some(text) = text else {
        bail!("give the text to parse, or --jsonl to read lines from stdin");
    };
    let p = engine.parse(text);
    if json {
        println!("{}", to_json(&p));
    } else {
        print!("{}", human(&p));
    }
    Ok(ExitCode::SUCCESS)
}

/// The JSON shape of a parse: `text`, `intent`, `confidence`, `slots` (name -> raw), `alternatives`, and details.
pub fn to_json(p: &Parse) -> serde_json::Value {
    let mut slots = serde_json::Map::new();
    for s in &p.slots {
        slots.entry(s.name.clone()).or_insert_with(|| serde_json::Value::String(s.raw.clone()));
    }
    serde_json::json!({
        "text": p.text,
        "intent": p.intent,
        "confidence": (f64::from(p.confidence) * 1000.0).round() / 1000.0,
        "verdict": p.verdict,
        "slots": slots,
        "alternatives": p.alternatives,
        "slot_details": p.slots,
        "layers": p.layers,
        "truncated": p.truncated,
        "cues": p.cues,
    })
}

fn human(p: &Parse) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let _ = writeln!(s, "intent        {}  ({:.2}, {:?})", p.intent, p.confidence, p.verdict);
    for (i, slot) in p.slots.iter().enumerate() {
        let head = if i == 0 { "slots" } else { "" };
        let detail = match &slot.resolved {
            Some(Resolved::TimeRange(r)) => format!("{} .. {}", r.from.to_rfc3339(), r.to.to_rfc3339()),
            Some(Resolved::Duration { seconds }) => format!("{seconds} s"),
            Some(Resolved::Entity { canonical, score }) if *score < 1.0 => format!("{canonical} (fuzzy {score:.2})"),
            Some(Resolved::Entity { canonical, .. }) => canonical.clone(),
            Some(Resolved::Number { value }) => value.to_string(),
            Some(Resolved::Severity { value }) => value.to_string(),
            Some(Resolved::Env { value }) => value.to_string(),
            Some(Resolved::Matcher(m)) => m.to_string(),
            None => slot.value.clone(),
        };
        let _ = writeln!(s, "{head:<13} {} = \"{}\" -> {detail}", slot.name, slot.raw);
    }
    if !p.alternatives.is_empty() {
        let alts: Vec<String> = p.alternatives.iter().map(|a| format!("{} {:.2}", a.intent, a.confidence)).collect();
        let _ = writeln!(s, "alternatives  {}", alts.join(", "));
    }
    let _ = writeln!(s, "layers        {}", p.layers.join(" + "));
    if !p.cues.is_empty() {
        let cues: Vec<String> = p.cues.iter().map(|c| format!("{:?} \"{}\"", c.kind, c.raw).to_lowercase()).collect();
        let _ = writeln!(s, "cues          {}", cues.join(", "));
    }
    if p.truncated {
        let _ = writeln!(s, "note          input was cut to {} bytes", nlu::engine::MAX_INPUT_BYTES);
    }
    s
}

/// One JSON object per test sentence: text, gold and predicted intent, the
/// probabilities the engine decided on and, under `layers`, each layer's
/// before the mix, with the mix's weights.
fn write_predictions(file: std::fs::File, preds: &[Prediction]) -> Result<()> {
    let mut out = std::io::BufWriter::new(file);
    for p in preds {
        let row = serde_json::json!({
            "text": p.text,
            "gold": p.gold,
            "intent": p.pred,
            "probabilities": p.probabilities,
            "layers": p.layers,
        });
        writeln!(out, "{row}")?;
    }
    out.flush()?;
    Ok(())
}

fn evaluate(
    args: &NluArgs,
    format: Format,
    dataset: &Path,
    json: bool,
    errors: bool,
    no_cache: bool,
    predictions: Option<&Path>,
) -> Result<ExitCode> {
    // Opened first, so that a path that cannot be written fails before minutes of training.
    let predictions = predictions
        .map(|p| std::fs::File::create(p).map(|f| (p, f)).with_context(|| format!("creating {}", p.display())))
        .transpose()?;
    let corpora: Vec<Corpus> = match format {
        Format::SnipsJoint => vec![datasets::load_snips_joint(dataset)?],
        Format::Clinc150 => vec![datasets::load_clinc150(dataset)?],
        Format::Braun => datasets::load_braun(dataset)?,
        Format::Pipilu => vec![datasets::load_pipilu(&dataset.join("train"), &dataset.join("test"))?.0],
    };
    let name = match format {
        Format::Braun => "braun2017 (pooled)".to_string(),
        _ => corpora[0].name.clone(),
    };
    let mut preds: Vec<Prediction> = Vec::new();
    let mut layers = vec!["lexical".to_string()];
    let t = Instant::now();
    let mut train_secs = 0.0;
    let bars = !json && std::io::IsTerminal::is_terminal(&std::io::stderr());
    for c in &corpora {
        let cache = match encoder(args, json)? {
            Some(e) if !no_cache => {
                let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(std::env::temp_dir);
                let file = home
                    .join(".cache/pipilu/embeddings")
                    .join(nlu::encoder::Encoder::VECTORS_ID)
                    .join(format!("{}.bin", c.name));
                Some(Arc::new(CachedEncoder::new(e, &file)))
            }
            other => other.map(|e| Arc::new(CachedEncoder::new(e, Path::new("")))),
        };
        let enc: Option<Box<dyn SentenceEncoder>> = cache.clone().map(|c| Box::new(c) as Box<dyn SentenceEncoder>);
        let gaz = match format {
            Format::Pipilu => {
                let (_, data) = datasets::load_pipilu(&dataset.join("train"), &dataset.join("test"))?;
                nlu::gazetteer_from(&data)
            }
            _ => nlu::Gazetteer::new(),
        };
        let opts = TrainOptions {
            names_from_examples: !matches!(format, Format::Pipilu),
            risky: if matches!(format, Format::Pipilu) { TrainOptions::default().risky } else { Vec::new() },
            slots: c.has_slots,
            oos_label: c.oos_label.clone(),
            thresholds: if c.oos_label.is_some() {
                Thresholds::default()
            } else {
                Thresholds { min_confidence: 0.0, min_margin: 0.0, ..Thresholds::default() }
            },
            ..TrainOptions::default()
        };
        let start = Instant::now();
        let mut b = Bars::new(bars);
        let engine = Engine::train(&c.train, &c.valid, gaz, enc, &opts, &mut |s, d, t| b.update(s, d, t))?;
        b.finish();
        train_secs += start.elapsed().as_secs_f64();
        if engine.has_neural() {
            tracing::info!(
                corpus = %c.name,
                lexical_sure = engine.thresholds().lexical_sure,
                min_confidence = engine.thresholds().min_confidence,
                novelty_weight = engine.novelty_weight(),
                "neural layer tuned"
            );
            layers = engine.layers().iter().map(|s| s.to_string()).collect();
        }
        preds.extend(eval::predict_all(&engine, &c.test, c.oos_label.as_deref(), predictions.is_some()));
        if let Some(cache) = cache.filter(|_| !no_cache) {
            cache.save().context("saving the embedding cache")?;
        }
    }
    if let Some((path, file)) = predictions {
        write_predictions(file, &preds).with_context(|| format!("writing {}", path.display()))?;
    }
    let has_slots = corpora.iter().any(|c| c.has_slots);
    let has_oos =
        corpora.iter().any(|c| c.oos_label.is_some() && c.test.iter().any(|e| Some(&e.intent) == c.oos_label.as_ref()));
    let mut report = eval::score(&name, &preds, has_slots, has_oos, layers);
    report.train_seconds = train_secs;
    if json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        print!("{report}");
        if errors {
            for p in &preds {
                if p.gold != p.pred {
                    println!("INTENT {} -> {}: {}", p.gold, p.pred, p.text);
                } else if p.gold_spans != p.pred_spans {
                    println!("SLOTS  {:?} -> {:?}: {}", p.gold_spans, p.pred_spans, p.text);
                }
            }
        }
        eprintln!("total {:.1} s", t.elapsed().as_secs_f64());
    }
    Ok(ExitCode::SUCCESS)
}
