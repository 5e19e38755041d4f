//! The configuration file (`pipilu.toml`): one TOML file, every key optional,
//! secrets never in it (a key names the environment variable that holds each).
//!
//! The file is read into a TOML table and walked by hand rather than through
//! serde, so that *every* problem is reported with its key path at once
//! (`nlu.thresholds.min_confidence: expected a number from 0 to 1, found "high"`),
//! not just the first. Sections are in their own modules where they are big
//! (`backends`, `slack`, `telegram`).

mod backends;
mod slack;
mod telegram;

pub use backends::{
    AuthConfig, BackendsConfig, CloudFoundryConfig, ElasticsearchConfig, EndpointConfig, EnvConfig, GrafanaConfig,
    KubernetesConfig, LokiConfig, OpnSenseConfig, PrometheusConfig,
};

pub use slack::{SlackConfig, SlackMode};
pub use telegram::{BotToken, TelegramConfig, TelegramMode};

use crate::render::console::ColorChoice;
use std::fmt;
use std::path::{Path, PathBuf};
use toml::{Table, Value};

/// Everything configurable, with defaults for what the file leaves out.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// `[nlu]`
    pub nlu: NluConfig,
    /// `[policy]`
    pub policy: PolicyConfig,
    /// `[demo]`
    pub demo: DemoConfig,
    /// `[log]`
    pub log: LogConfig,
    /// `[console]`
    pub console: ConsoleConfig,
    /// `[environments.*]` and `[backends.*]`; empty means the demo estate.
    pub backends: BackendsConfig,
    /// `[slack]`: the Slack adapter, when configured.
    pub slack: Option<SlackConfig>,
    /// `[telegram]`, when present and usable.
    pub telegram: Option<TelegramConfig>,
}

/// `[nlu]`: where the models are and how sure the engine must be.
#[derive(Debug, Clone, PartialEq)]
pub struct NluConfig {
    /// Folder of `pipilu-nlu.bin` and `all-MiniLM-L6-v2/`.
    pub models: PathBuf,
    /// Use the neural layer when the trained model and encoder files are present.
    pub neural: bool,
    /// Keep the model trained from the built-in data in the user's cache folder, so later starts are fast.
    pub cache: bool,
    /// Seconds between inventory refreshes in long-running modes (0 = only at start).
    pub inventory_refresh_secs: u64,
    /// Overrides of the engine's thresholds.
    pub thresholds: ThresholdOverrides,
}

/// `[nlu.thresholds]`: each replaces the engine's trained or default value.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ThresholdOverrides {
    /// Below this probability a sentence is out of scope.
    pub min_confidence: Option<f32>,
    /// Runner-up closer than this: ambiguous.
    pub min_margin: Option<f32>,
    /// Lexical probability above which the neural layer is skipped.
    pub lexical_sure: Option<f32>,
    /// Stricter minimum for risky intents.
    pub risky_min_confidence: Option<f32>,
}

impl ThresholdOverrides {
    /// Applies the overrides to the engine's thresholds.
    pub fn apply(&self, mut t: nlu::Thresholds) -> nlu::Thresholds {
        if let Some(v) = self.min_confidence {
            t.min_confidence = v;
        }
        if let Some(v) = self.min_margin {
            t.min_margin = v;
        }
        if let Some(v) = self.lexical_sure {
            t.lexical_sure = v;
        }
        if let Some(v) = self.risky_min_confidence {
            t.risky_min_confidence = v;
        }
        t
    }
}

/// `[policy]`: what it takes before a skill runs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PolicyConfig {
    /// Minimum NLU confidence for skills that change things (restart).
    pub change_min_confidence: f32,
    /// Minimum fuzzy name score for read-only skills (change skills need exact names).
    pub read_min_name_score: f32,
}

/// `[demo]`: the simulated estate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DemoConfig {
    /// Seed of the estate's noise, for repeatable demos.
    pub seed: u64,
}

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// `[log]`: tracing output on stderr.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogConfig {
    /// Line format.
    pub format: LogFormat,
    /// Filter in `RUST_LOG` syntax (the `RUST_LOG` variable wins when set).
    pub filter: String,
}

/// `[console]`: how `pipilu chat` and `pipilu ask` show cards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleConfig {
    /// Where images are saved (default `./pipilu-images`).
    pub image_dir: Option<PathBuf>,
    /// When to colour output.
    pub color: ColorChoice,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            nlu: NluConfig {
                models: PathBuf::from("models"),
                neural: true,
                cache: true,
                inventory_refresh_secs: 300,
                thresholds: ThresholdOverrides::default(),
            },
            policy: PolicyConfig { change_min_confidence: 0.8, read_min_name_score: 0.85 },
            demo: DemoConfig { seed: 42 },
            log: LogConfig { format: LogFormat::Text, filter: "warn".into() },
            console: ConsoleConfig { image_dir: None, color: ColorChoice::Auto },
            backends: BackendsConfig::default(),
            slack: None,
            telegram: None,
        }
    }
}

impl Config {
    /// The policy these settings describe.
    pub fn policy(&self) -> crate::core::Policy {
        let mut p = crate::core::Policy::default();
        p.read.min_name_score = self.policy.read_min_name_score;
        p.change.min_confidence = self.policy.change_min_confidence;
        p.destructive.min_confidence = p.destructive.min_confidence.max(self.policy.change_min_confidence);
        p
    }
}

/// How bad a problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// The file must be fixed; pipilu will not start with it.
    Error,
    /// Worth knowing; pipilu starts.
    Warning,
}

/// One thing wrong with the file, at a key path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Error or warning.
    pub level: Level,
    /// Dotted key path (`nlu.thresholds.min_confidence`), or `(file)` for syntax errors.
    pub key: String,
    /// What is wrong and, where it helps, what would be right.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let level = match self.level {
            Level::Error => "error",
            Level::Warning => "warning",
        };
        write!(f, "{level}: {}: {}", self.key, self.message)
    }
}

/// True when any problem is an error.
pub fn has_errors(problems: &[Problem]) -> bool {
    problems.iter().any(|p| p.level == Level::Error)
}

/// Reads and checks a config file. Relative paths in it are taken from the file's folder.
/// `Err` only when the file cannot be read; everything else is a [`Problem`].
pub fn load(path: &Path) -> anyhow::Result<(Config, Vec<Problem>)> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("cannot read config file {}: {e}", path.display()))?;
    let (mut config, problems) = parse(&text, &|k| std::env::var(k).ok());
    let base = path.parent().unwrap_or(Path::new(""));
    if config.nlu.models.is_relative() && !base.as_os_str().is_empty() {
        config.nlu.models = base.join(&config.nlu.models);
    }
    if let Some(dir) = config.console.image_dir.as_mut()
        && dir.is_relative()
        && !base.as_os_str().is_empty()
    {
        *dir = base.join(&*dir);
    }
    Ok((config, problems))
}

/// Parses and checks config text; `env` looks up environment variables (injected for tests).
pub fn parse(text: &str, env: &dyn Fn(&str) -> Option<String>) -> (Config, Vec<Problem>) {
    let mut c = Checker { problems: Vec::new(), env };
    let mut config = Config::default();
    let root: Table = match text.parse::<Table>() {
        Ok(t) => t,
        Err(e) => {
            c.error("(file)", format!("not valid TOML: {}", e.to_string().trim()));
            return (config, c.problems);
        }
    };
    for (key, value) in &root {
        match key.as_str() {
            "nlu" => c.nlu(value, &mut config.nlu),
            "policy" => c.policy(value, &mut config.policy),
            "demo" => {
                if let Some(t) = c.table(value, "demo") {
                    c.unknown_keys(t, "demo", &["seed"]);
                    if let Some(v) = c.int(t, "demo", "seed", 0, i64::MAX) {
                        config.demo.seed = v as u64;
                    }
                }
            }
            "log" => c.log(value, &mut config.log),
            "console" => c.console(value, &mut config.console),
            "slack" => config.slack = c.slack(value),
            "telegram" => config.telegram = c.telegram(value),
            "environments" => c.environments(value, &mut config.backends),
            "backends" => c.backends(value, &mut config.backends),
            other => c.error(
                other,
                "unknown section or key (known: nlu, policy, demo, log, console, environments, backends, slack, \
                 telegram)"
                    .into(),
            ),
        }
    }
    c.check_backends(&mut config.backends);
    (config, c.problems)
}

struct Checker<'a> {
    problems: Vec<Problem>,
    env: &'a dyn Fn(&str) -> Option<String>,
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() { key.to_string() } else { format!("{path}.{key}") }
}

fn found(v: &Value) -> String {
    let shown = match v {
        Value::String(s) => format!("{s:?}"),
        Value::Table(_) => "a table".into(),
        Value::Array(_) => "an array".into(),
        other => other.to_string(),
    };
    format!("found {shown} ({})", v.type_str())
}

/// Keys that would hold a secret: their values belong in the environment.
fn is_secret_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    ["token", "password", "secret", "api_key", "apikey", "private_key", "client_secret", "webhook_secret"]
        .iter()
        .any(|s| k == *s || k.ends_with(&format!("_{s}")))
}

fn is_env_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_uppercase() || c == '_')
        && chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

/// Why `s` is not an http(s) URL, if it is not.
fn url_problem(s: &str) -> Option<String> {
    let Some((scheme, rest)) = s.split_once("://") else {
        return Some("missing scheme: write http://host or https://host".into());
    };
    if scheme != "http" && scheme != "https" {
        return Some(format!("scheme must be http or https, not {scheme:?}"));
    }
    if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Some("contains whitespace".into());
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let (host, port) = if host_port.starts_with('[') {
        match host_port.split_once(']') {
            Some((h, p)) => (&h[1..], p.strip_prefix(':')),
            None => return Some("unclosed '[' in host".into()),
        }
    } else {
        match host_port.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (host_port, None),
        }
    };
    if host.is_empty() {
        return Some("missing host".into());
    }
    if !host.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':')) {
        return Some(format!("invalid host {host:?}"));
    }
    if let Some(p) = port
        && p.parse::<u16>().map_or(true, |n| n == 0)
    {
        return Some(format!("invalid port {p:?}"));
    }
    None
}

impl Checker<'_> {
    fn error(&mut self, key: &str, message: String) {
        self.problems.push(Problem { level: Level::Error, key: key.to_string(), message });
    }

    fn warning(&mut self, key: &str, message: String) {
        self.problems.push(Problem { level: Level::Warning, key: key.to_string(), message });
    }

    /// The value of the environment variable that an `*_env` key (at `at`)
    /// names: the name must look like one (`example` shows the form in the
    /// message) and the variable must be set and not blank.
    fn env_value(&mut self, at: &str, name: &str, example: &str) -> Option<String> {
        if !is_env_name(name) {
            self.error(at, format!("{name:?} is not an environment variable name (expected e.g. \"{example}\")"));
            return None;
        }
        let value = (self.env)(name).filter(|v| !v.trim().is_empty());
        if value.is_none() {
            self.error(at, format!("environment variable {name} is not set"));
        }
        value
    }

    fn table<'v>(&mut self, v: &'v Value, path: &str) -> Option<&'v Table> {
        match v {
            Value::Table(t) => Some(t),
            other => {
                self.error(path, format!("expected a table ([{path}]), {}", found(other)));
                None
            }
        }
    }

    fn unknown_keys(&mut self, t: &Table, path: &str, known: &[&str]) {
        for key in t.keys().filter(|k| !known.contains(&k.as_str())) {
            let message = if is_secret_key(key) {
                format!("secrets are read only from environment variables: write `{key}_env = \"VAR_NAME\"`")
            } else {
                format!("unknown key (known in [{path}]: {})", known.join(", "))
            };
            self.error(&join(path, key), message);
        }
    }

    fn string(&mut self, t: &Table, path: &str, key: &str) -> Option<String> {
        match t.get(key)? {
            Value::String(s) => Some(s.clone()),
            other => {
                self.error(&join(path, key), format!("expected a string, {}", found(other)));
                None
            }
        }
    }

    fn boolean(&mut self, t: &Table, path: &str, key: &str) -> Option<bool> {
        match t.get(key)? {
            Value::Boolean(b) => Some(*b),
            other => {
                self.error(&join(path, key), format!("expected true or false, {}", found(other)));
                None
            }
        }
    }

    fn int(&mut self, t: &Table, path: &str, key: &str, lo: i64, hi: i64) -> Option<i64> {
        match t.get(key)? {
            Value::Integer(n) if (lo..=hi).contains(n) => Some(*n),
            other => {
                let range = if hi == i64::MAX { format!("{lo} or more") } else { format!("from {lo} to {hi}") };
                self.error(&join(path, key), format!("expected a whole number {range}, {}", found(other)));
                None
            }
        }
    }

    fn fraction(&mut self, t: &Table, path: &str, key: &str) -> Option<f32> {
        let v = t.get(key)?;
        let n = match v {
            Value::Float(f) => Some(*f),
            Value::Integer(i) => Some(*i as f64),
            _ => None,
        };
        match n {
            Some(n) if (0.0..=1.0).contains(&n) => Some(n as f32),
            _ => {
                self.error(&join(path, key), format!("expected a number from 0 to 1, {}", found(v)));
                None
            }
        }
    }

    fn one_of(&mut self, t: &Table, path: &str, key: &str, options: &[&str]) -> Option<String> {
        let s = self.string(t, path, key)?;
        if options.contains(&s.as_str()) {
            Some(s)
        } else {
            self.error(&join(path, key), format!("expected one of {}, found {s:?}", options.join(", ")));
            None
        }
    }

    fn nlu(&mut self, v: &Value, cfg: &mut NluConfig) {
        let Some(t) = self.table(v, "nlu") else { return };
        self.unknown_keys(t, "nlu", &["models", "neural", "cache", "inventory_refresh_secs", "thresholds"]);
        if let Some(s) = self.string(t, "nlu", "models") {
            cfg.models = PathBuf::from(s);
        }
        if let Some(b) = self.boolean(t, "nlu", "neural") {
            cfg.neural = b;
        }
        if let Some(b) = self.boolean(t, "nlu", "cache") {
            cfg.cache = b;
        }
        if let Some(n) = self.int(t, "nlu", "inventory_refresh_secs", 0, 7 * 86_400) {
            cfg.inventory_refresh_secs = n as u64;
        }
        if let Some(v) = t.get("thresholds")
            && let Some(th) = self.table(v, "nlu.thresholds")
        {
            let p = "nlu.thresholds";
            self.unknown_keys(th, p, &["min_confidence", "min_margin", "lexical_sure", "risky_min_confidence"]);
            cfg.thresholds = ThresholdOverrides {
                min_confidence: self.fraction(th, p, "min_confidence"),
                min_margin: self.fraction(th, p, "min_margin"),
                lexical_sure: self.fraction(th, p, "lexical_sure"),
                risky_min_confidence: self.fraction(th, p, "risky_min_confidence"),
            };
        }
    }

    fn policy(&mut self, v: &Value, cfg: &mut PolicyConfig) {
        let Some(t) = self.table(v, "policy") else { return };
        self.unknown_keys(t, "policy", &["change_min_confidence", "read_min_name_score"]);
        if let Some(f) = self.fraction(t, "policy", "change_min_confidence") {
            cfg.change_min_confidence = f;
        }
        if let Some(f) = self.fraction(t, "policy", "read_min_name_score") {
            if f < nlu::fuzzy::DEFAULT_MIN_SCORE {
                self.warning(
                    "policy.read_min_name_score",
                    format!("below {}: names that weak are not resolved at all", nlu::fuzzy::DEFAULT_MIN_SCORE),
                );
            }
            cfg.read_min_name_score = f;
        }
    }

    fn log(&mut self, v: &Value, cfg: &mut LogConfig) {
        let Some(t) = self.table(v, "log") else { return };
        self.unknown_keys(t, "log", &["format", "filter"]);
        if let Some(f) = self.one_of(t, "log", "format", &["text", "json"]) {
            cfg.format = if f == "json" { LogFormat::Json } else { LogFormat::Text };
        }
        if let Some(f) = self.string(t, "log", "filter") {
            match tracing_subscriber::EnvFilter::try_new(&f) {
                Ok(_) => cfg.filter = f,
                Err(e) => {
                    self.error("log.filter", format!("not a valid filter ({e}); for example \"info,pipilu=debug\""))
                }
            }
        }
    }

    fn console(&mut self, v: &Value, cfg: &mut ConsoleConfig) {
        let Some(t) = self.table(v, "console") else { return };
        self.unknown_keys(t, "console", &["image_dir", "color"]);
        if let Some(d) = self.string(t, "console", "image_dir") {
            cfg.image_dir = Some(PathBuf::from(d));
        }
        if let Some(c) = self.one_of(t, "console", "color", &["auto", "always", "never"]) {
            cfg.color = match c.as_str() {
                "always" => ColorChoice::Always,
                "never" => ColorChoice::Never,
                _ => ColorChoice::Auto,
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str) -> (Config, Vec<Problem>) {
        parse(text, &|k| (k == "SET_VAR").then(|| "x".to_string()))
    }

    fn keys(problems: &[Problem]) -> Vec<&str> {
        problems.iter().filter(|p| p.level == Level::Error).map(|p| p.key.as_str()).collect()
    }

    #[test]
    fn empty_file_is_the_defaults() {
        let (c, p) = check("");
        assert_eq!(c, Config::default());
        assert!(p.is_empty());
    }

    #[test]
    fn the_example_file_is_clean() {
        let (c, p) = check(include_str!("../../../pipilu.example.toml"));
        assert!(p.is_empty(), "{p:?}");
        assert_eq!(c.demo.seed, 42);
    }

    #[test]
    fn reads_values() {
        let (c, p) = check(
            "[nlu]\nmodels = \"m\"\nneural = false\n[nlu.thresholds]\nmin_confidence = 0.5\n\
             [demo]\nseed = 7\n[log]\nformat = \"json\"\nfilter = \"debug\"\n[console]\ncolor = \"never\"\n\
             [policy]\nchange_min_confidence = 0.9\n",
        );
        assert!(p.is_empty(), "{p:?}");
        assert_eq!(c.nlu.models, PathBuf::from("m"));
        assert!(!c.nlu.neural);
        assert_eq!(c.nlu.thresholds.min_confidence, Some(0.5));
        assert_eq!(c.demo.seed, 7);
        assert_eq!(c.log.format, LogFormat::Json);
        assert_eq!(c.console.color, ColorChoice::Never);
        assert_eq!(c.policy().change.min_confidence, 0.9);
    }

    #[test]
    fn every_problem_is_named_by_key() {
        let (_, p) = check(
            "colour = 1\n[nlu]\nmodel = \"x\"\nneural = \"yes\"\n[nlu.thresholds]\nmin_confidence = \"high\"\n\
             [demo]\nseed = -1\n[log]\nformat = \"xml\"\n\
             [slack]\nbot_token_env = \"UNSET_VAR\"\ntoken = \"xoxb-1\"\n\
             [backends.prometheus]\nurl = \"prometheus:9090\"\n[backends.loki]\nurl = \"http://loki:3100\"\n\
             [telegram]\ntoken_env = \"SET_VAR\"\napi_url = \"ftp://x\"\n",
        );
        assert_eq!(
            keys(&p),
            [
                "backends.prometheus.url",
                "colour",
                "demo.seed",
                "log.format",
                "nlu.model",
                "nlu.neural",
                "nlu.thresholds.min_confidence",
                "slack.token",
                "slack.bot_token_env",
                "slack.signing_secret_env",
                "telegram.api_url",
            ]
        );
        let warned: Vec<&str> = p.iter().filter(|p| p.level == Level::Warning).map(|p| p.key.as_str()).collect();
        assert_eq!(warned, ["telegram"]);
        assert!(p.iter().any(|p| p.message == "environment variable UNSET_VAR is not set"));
        assert!(has_errors(&p));
    }

    #[test]
    fn syntax_errors_are_reported() {
        let (_, p) = check("[nlu\nmodels = 1");
        assert_eq!(keys(&p), ["(file)"]);
        assert!(p[0].message.contains("line 1"), "{}", p[0].message);
    }

    #[test]
    fn urls() {
        for ok in ["http://x", "https://grafana.example.com:3000/path?q=1", "http://[::1]:80/", "http://u@h"] {
            assert_eq!(url_problem(ok), None, "{ok}");
        }
        for bad in ["x", "ftp://x", "http://", "http://h:0", "http://h:99999", "http://a b", "http://h$"] {
            assert!(url_problem(bad).is_some(), "{bad}");
        }
    }
}
