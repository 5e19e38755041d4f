//! Loaders of the public NLU benchmarks and of pipilu's own data, as train/valid/test splits.

use crate::data::Example;
use crate::yaml::DataSet;
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// A benchmark that could not be read.
#[derive(Debug, thiserror::Error)]
#[error("{}: {message}", path.display())]
pub struct DatasetError {
    /// The file or folder.
    pub path: PathBuf,
    /// What is wrong.
    pub message: String,
}

fn err(path: &Path, message: impl Into<String>) -> DatasetError {
    DatasetError { path: path.to_path_buf(), message: message.into() }
}

/// One corpus split three ways.
#[derive(Debug, Clone, Default)]
pub struct Corpus {
    /// Short name for reports.
    pub name: String,
    /// Training examples.
    pub train: Vec<Example>,
    /// Validation examples (thresholds and calibration only); may be empty.
    pub valid: Vec<Example>,
    /// Test examples (scored, never trained on).
    pub test: Vec<Example>,
    /// The out-of-scope label, when the corpus has one.
    pub oos_label: Option<String>,
    /// True when examples carry slot spans.
    pub has_slots: bool,
}

fn read(path: &Path) -> Result<String, DatasetError> {
    std::fs::read_to_string(path).map_err(|e| err(path, e.to_string()))
}

fn snips_split(dir: &Path, split: &str) -> Result<Vec<Example>, DatasetError> {
    let d = dir.join(split);
    let seq_in = read(&d.join("seq.in"))?;
    let seq_out = read(&d.join("seq.out"))?;
    let labels = read(&d.join("label"))?;
    let (a, b, c): (Vec<&str>, Vec<&str>, Vec<&str>) =
        (seq_in.lines().collect(), seq_out.lines().collect(), labels.lines().collect());
    if a.len() != b.len() || a.len() != c.len() {
        return Err(err(&d, format!("line counts differ: {} / {} / {}", a.len(), b.len(), c.len())));
    }
    a.iter()
        .zip(&b)
        .zip(&c)
        .enumerate()
        .map(|(i, ((text, tags), label))| {
            let tags: Vec<&str> = tags.split_whitespace().collect();
            Example::from_bio(text.trim(), &tags, label.trim()).map_err(|m| err(&d, format!("line {}: {m}", i + 1)))
        })
        .collect()
}

/// SNIPS joint (Goo et al. 2018): `train|valid|test/{seq.in,seq.out,label}`.
pub fn load_snips_joint(dir: &Path) -> Result<Corpus, DatasetError> {
    Ok(Corpus {
        name: "snips-joint".into(),
        train: snips_split(dir, "train")?,
        valid: snips_split(dir, "valid")?,
        test: snips_split(dir, "test")?,
        oos_label: None,
        has_slots: true,
    })
}

/// CLINC150 `data_full.json`; out-of-scope examples are labelled `oos`
/// and trained as a class, and the threshold is tuned on `val` + `oos_val`.
pub fn load_clinc150(path: &Path) -> Result<Corpus, DatasetError> {
    let file = if path.is_dir() { path.join("data_full.json") } else { path.to_path_buf() };
    #[derive(Deserialize)]
    struct Full {
        train: Vec<(String, String)>,
        val: Vec<(String, String)>,
        test: Vec<(String, String)>,
        oos_train: Vec<(String, String)>,
        oos_val: Vec<(String, String)>,
        oos_test: Vec<(String, String)>,
    }
    let full: Full = serde_json::from_str(&read(&file)?).map_err(|e| err(&file, e.to_string()))?;
    let conv = |v: Vec<(String, String)>| -> Vec<Example> { v.iter().map(|(t, l)| Example::new(t, l)).collect() };
    let mut train = conv(full.train);
    train.extend(conv(full.oos_train));
    let mut valid = conv(full.val);
    valid.extend(conv(full.oos_val));
    let mut test = conv(full.test);
    test.extend(conv(full.oos_test));
    Ok(Corpus { name: "clinc150".into(), train, valid, test, oos_label: Some("oos".into()), has_slots: false })
}

/// The three corpora of Braun et al. 2017, each with its own split (`training: true|false`).
pub fn load_braun(dir: &Path) -> Result<Vec<Corpus>, DatasetError> {
    #[derive(Deserialize)]
    struct Sentence {
        text: String,
        intent: Option<String>,
        training: bool,
    }
    #[derive(Deserialize)]
    struct File {
        sentences: Vec<Sentence>,
    }
    let mut out = Vec::new();
    for name in ["AskUbuntuCorpus", "ChatbotCorpus", "WebApplicationsCorpus"] {
        let file = dir.join(format!("{name}.json"));
        let f: File = serde_json::from_str(&read(&file)?).map_err(|e| err(&file, e.to_string()))?;
        let mut c = Corpus { name: name.into(), ..Corpus::default() };
        for s in f.sentences {
            let Some(intent) = s.intent.filter(|i| !i.is_empty()) else { continue };
            let ex = Example::new(&s.text, &intent);
            if s.training { c.train.push(ex) } else { c.test.push(ex) }
        }
        out.push(c);
    }
    Ok(out)
}

/// pipilu's own data: `train/` directory of YAML and the held-out test file or folder.
pub fn load_pipilu(train: &Path, test: &Path) -> Result<(Corpus, DataSet), DatasetError> {
    let tr = DataSet::load_path(train).map_err(|e| err(train, e.to_string()))?;
    let te = DataSet::load_path(test).map_err(|e| err(test, e.to_string()))?;
    Ok((
        Corpus {
            name: "pipilu-chatops".into(),
            train: tr.examples.clone(),
            valid: Vec::new(),
            test: te.examples,
            oos_label: Some(crate::parse::OUT_OF_SCOPE.into()),
            has_slots: true,
        },
        tr,
    ))
}
