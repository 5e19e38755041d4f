//! pipilu's own training-data format: YAML with inline slot annotations.
//!
//! See `fixtures/nlu/README.md`. Every error names the file, the line and
//! what is wrong, because these files are written by hand.

use crate::data::{Example, SpanLabel};
use crate::tokenize::tokenize;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The intents of pipilu's ChatOps schema.
pub const INTENTS: &[&str] = &[
    "health_check",
    "restart_service",
    "query_logs",
    "grafana_snapshot",
    "firewall_status",
    "list_alerts",
    "ack_alert",
    "silence_alert",
    "resolve_incident",
    "audit_query",
    "help",
    "out_of_scope",
];

/// The slots of pipilu's ChatOps schema.
pub const SLOTS: &[&str] = &[
    "service",
    "env",
    "namespace",
    "time_range",
    "query",
    "level",
    "dashboard",
    "panel",
    "firewall",
    "incident",
    "severity",
    "duration",
    "matcher",
    "user",
];

/// A problem in a data file, located for the person who wrote it.
#[derive(Debug, thiserror::Error)]
#[error("{}:{line}: {message}", file.display())]
pub struct DataError {
    /// The file.
    pub file: PathBuf,
    /// 1-based line, 0 when unknown.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileDoc {
    #[allow(dead_code)]
    version: Option<u32>,
    #[serde(default)]
    intents: Vec<IntentBlock>,
    #[serde(default)]
    entities: BTreeMap<String, EntityDef>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct IntentBlock {
    intent: String,
    #[serde(default)]
    examples: Vec<String>,
}

/// An entity definition: a list of canonical values with synonyms, or a built-in kind.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntityDef {
    /// Canonical value -> synonyms.
    #[serde(default)]
    pub values: BTreeMap<String, Option<Vec<String>>>,
    /// Name of a built-in resolver (`time_range`, `duration`, ...).
    pub builtin: Option<String>,
}

/// Everything read from a set of YAML files.
#[derive(Debug, Clone, Default)]
pub struct DataSet {
    /// Labelled examples, in file order.
    pub examples: Vec<Example>,
    /// Entity definitions by slot name.
    pub entities: BTreeMap<String, EntityDef>,
}

impl DataSet {
    /// Loads every `*.yaml` file in `dir` (sorted by name, so loading is deterministic).
    pub fn load_dir(dir: &Path) -> Result<Self, DataError> {
        let rd = std::fs::read_dir(dir).map_err(|e| DataError {
            file: dir.to_path_buf(),
            line: 0,
            message: format!("cannot read directory: {e}"),
        })?;
        let mut files: Vec<PathBuf> = rd
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
            .collect();
        files.sort();
        if files.is_empty() {
            return Err(DataError { file: dir.to_path_buf(), line: 0, message: "no .yaml files here".into() });
        }
        let mut set = DataSet::default();
        for f in files {
            set.load_file(&f)?;
        }
        Ok(set)
    }

    /// Loads one file (or directory) and appends its content.
    pub fn load_path(path: &Path) -> Result<Self, DataError> {
        if path.is_dir() {
            Self::load_dir(path)
        } else {
            let mut set = DataSet::default();
            set.load_file(path)?;
            Ok(set)
        }
    }

    fn load_file(&mut self, path: &Path) -> Result<(), DataError> {
        let text = std::fs::read_to_string(path).map_err(|e| DataError {
            file: path.to_path_buf(),
            line: 0,
            message: format!("cannot read: {e}"),
        })?;
        self.load_str(path, &text)
    }

    /// Parses YAML text; `path` is only used in error messages.
    pub fn load_str(&mut self, path: &Path, text: &str) -> Result<(), DataError> {
        let err = |line: usize, message: String| DataError { file: path.to_path_buf(), line, message };
        let doc: FileDoc =
            serde_yaml::from_str(text).map_err(|e| err(e.location().map_or(0, |l| l.line()), e.to_string()))?;
        for block in doc.intents {
            if !INTENTS.contains(&block.intent.as_str()) {
                return Err(err(
                    line_of(text, &format!("intent: {}", block.intent)),
                    format!("unknown intent '{}' (known: {})", block.intent, INTENTS.join(", ")),
                ));
            }
            for ex in block.examples {
                let parsed = parse_annotated(&ex, &block.intent).map_err(|m| err(line_of(text, &ex), m))?;
                self.examples.push(parsed);
            }
        }
        for (name, def) in doc.entities {
            if !SLOTS.contains(&name.as_str()) {
                return Err(err(line_of(text, &format!("{name}:")), format!("unknown slot '{name}'")));
            }
            self.entities.insert(name, def);
        }
        Ok(())
    }
}

/// The 1-based line where `needle` (or its first 40 characters) first appears.
fn line_of(text: &str, needle: &str) -> usize {
    let probe: String = needle.chars().take(40).collect();
    text.find(&probe).map_or(0, |pos| text[..pos].matches('\n').count() + 1)
}

/// Parses `restart [latte](service) in [production](env:prod)` into an example.
pub fn parse_annotated(src: &str, intent: &str) -> Result<Example, String> {
    let mut plain = String::new();
    let mut raw_spans: Vec<(usize, usize, String, Option<String>)> = Vec::new();
    let mut chars = src.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => {
                if let Some((_, n)) = chars.next() {
                    plain.push(n);
                }
            }
            '[' => {
                let rest = &src[i + 1..];
                let close = rest.find(']').ok_or_else(|| format!("'[' at column {} is never closed: {src}", i + 1))?;
                let inner = &rest[..close];
                if inner.contains('[') {
                    return Err(format!("nested '[' in annotation: {src}"));
                }
                let after = &rest[close + 1..];
                if !after.starts_with('(') {
                    return Err(format!("'[{inner}]' must be followed by '(slot)': {src}"));
                }
                let pclose = after.find(')').ok_or_else(|| format!("'(' after '[{inner}]' is never closed: {src}"))?;
                let label = &after[1..pclose];
                let (slot, value) = match label.split_once(':') {
                    Some((s, v)) => (s.trim(), Some(v.trim().to_string())),
                    None => (label.trim(), None),
                };
                if !SLOTS.contains(&slot) {
                    return Err(format!("unknown slot '{slot}' (known: {}): {src}", SLOTS.join(", ")));
                }
                if inner.trim().is_empty() {
                    return Err(format!("empty annotation for slot '{slot}': {src}"));
                }
                let start = plain.len();
                plain.push_str(inner);
                raw_spans.push((start, plain.len(), slot.to_string(), value));
                let skip = i + 1 + close + 1 + pclose + 1;
                while chars.peek().is_some_and(|(j, _)| *j < skip) {
                    chars.next();
                }
            }
            _ => plain.push(c),
        }
    }
    if plain.trim().is_empty() {
        return Err("empty example".into());
    }
    let tokens = tokenize(&plain);
    let mut spans = Vec::new();
    for (s, e, slot, value) in raw_spans {
        let start = tokens.iter().position(|t| t.start == s);
        let end = tokens.iter().position(|t| t.end == e);
        match (start, end) {
            (Some(a), Some(b)) if a <= b => spans.push(SpanLabel { slot, start: a, end: b + 1, value }),
            _ => {
                return Err(format!("annotation '{}' ({slot}) does not cover whole tokens: {src}", &plain[s..e]));
            }
        }
    }
    Ok(Example { text: plain, tokens, intent: intent.to_string(), spans })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_annotations() {
        let e = parse_annotated("restart [latte](service) in [production](env:prod)?", "restart_service").unwrap();
        assert_eq!(e.text, "restart latte in production?");
        assert_eq!(e.spans.len(), 2);
        assert_eq!(e.spans[1].value.as_deref(), Some("prod"));
        assert_eq!(e.bio(), ["O", "B-service", "O", "B-env", "O"]);
        let z = parse_annotated("重启 [latte](service)", "restart_service").unwrap();
        assert_eq!(z.bio(), ["O", "O", "B-service"]);
    }

    #[test]
    fn rejects_bad_annotations_with_reasons() {
        for (src, want) in [
            ("restart [latte(service)", "never closed"),
            ("restart [latte] now", "must be followed"),
            ("restart [latte](servce)", "unknown slot"),
            ("restart [lat](service)te", "whole tokens"),
            ("   ", "empty"),
        ] {
            let e = parse_annotated(src, "restart_service").unwrap_err();
            assert!(e.contains(want), "{src}: {e}");
        }
    }

    #[test]
    fn file_errors_name_the_line() {
        let mut set = DataSet::default();
        let text =
            "version: 1\nintents:\n  - intent: restart_service\n    examples:\n      - restart [latte](servce)\n";
        let e = set.load_str(Path::new("x.yaml"), text).unwrap_err();
        assert_eq!(e.line, 5);
        assert!(e.to_string().starts_with("x.yaml:5:"));
        let e = set.load_str(Path::new("y.yaml"), "intents:\n  - intent: reboot\n").unwrap_err();
        assert_eq!(e.line, 2);
        let e = set.load_str(Path::new("z.yaml"), "intents: [\n").unwrap_err();
        assert!(e.line > 0);
    }
}
