//! `[environments.*]` and `[backends.*]`: where services run and which systems
//! answer for logs, metrics, graphs and firewalls.
//!
//! Parsed into plain data: secrets stay as the *names* of environment variables
//! (checked to be set) and are read only when the drivers are built, so a
//! `Debug` print of the config never shows one.

use super::{Checker, join};
use std::collections::BTreeMap;
use std::path::PathBuf;
use toml::{Table, Value};

/// Every real backend the file configures. Empty means: the demo estate.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BackendsConfig {
    /// Environments by name (`prod`, `staging`), each on one platform.
    pub environments: BTreeMap<String, EnvConfig>,
    /// The environment meant when a request names none.
    pub default_env: Option<String>,
    /// Kubernetes clusters by name (`[backends.kubernetes.<name>]`).
    pub kubernetes: BTreeMap<String, KubernetesConfig>,
    /// `[backends.cloudfoundry]`.
    pub cloudfoundry: Option<CloudFoundryConfig>,
    /// `[backends.prometheus]`.
    pub prometheus: Option<PrometheusConfig>,
    /// `[backends.loki]`.
    pub loki: Option<LokiConfig>,
    /// `[backends.elasticsearch]`.
    pub elasticsearch: Option<ElasticsearchConfig>,
    /// `[backends.grafana]`.
    pub grafana: Option<GrafanaConfig>,
    /// Firewalls by name (`[backends.opnsense.<name>]`), the first is the default.
    pub opnsense: Vec<OpnSenseConfig>,
}

impl BackendsConfig {
    /// True when nothing real is configured, so the demo estate answers.
    pub fn is_empty(&self) -> bool {
        self.environments.is_empty()
            && self.prometheus.is_none()
            && self.loki.is_none()
            && self.elasticsearch.is_none()
            && self.grafana.is_none()
            && self.opnsense.is_empty()
    }
}

/// Where a backend is, and how patient to be (common keys of every `[backends.*]`).
#[derive(Debug, Clone, PartialEq)]
pub struct EndpointConfig {
    /// Base URL.
    pub url: String,
    /// Seconds before one call gives up.
    pub timeout_secs: f64,
    /// Retries of a failed read.
    pub retries: u32,
    /// Accept self-signed certificates.
    pub insecure_tls: bool,
}

impl EndpointConfig {
    /// The drivers' form of it.
    pub fn endpoint(&self) -> skills::drivers::http::Endpoint {
        skills::drivers::http::Endpoint {
            url: self.url.clone(),
            timeout_secs: self.timeout_secs,
            retries: self.retries,
            insecure_tls: self.insecure_tls,
        }
    }
}

/// How a backend authenticates: names of environment variables, never values.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum AuthConfig {
    /// No credentials.
    #[default]
    None,
    /// Bearer token from `token_env`.
    Bearer {
        /// Variable holding the token.
        token_env: String,
    },
    /// Basic auth from `username_env` and `password_env`.
    Basic {
        /// Variable holding the user.
        username_env: String,
        /// Variable holding the password.
        password_env: String,
    },
}

/// One environment: the platform its services run on, and where on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnvConfig {
    /// Deployments in a namespace of a `[backends.kubernetes.<cluster>]`.
    Kubernetes {
        /// Cluster name.
        cluster: String,
        /// Namespace.
        namespace: String,
    },
    /// Apps in a Cloud Foundry space.
    CloudFoundry {
        /// The space's guid.
        space_guid: String,
    },
}

/// `[backends.kubernetes.<name>]`.
#[derive(Debug, Clone, PartialEq)]
pub struct KubernetesConfig {
    /// API server, timeout, TLS.
    pub endpoint: EndpointConfig,
    /// Variable holding the service account token.
    pub token_env: String,
    /// PEM file of the cluster's CA, when not publicly trusted.
    pub ca_file: Option<PathBuf>,
    /// Seconds to follow a rollout before reporting it unfinished.
    pub rollout_timeout_secs: u64,
}

/// `[backends.cloudfoundry]`.
#[derive(Debug, Clone, PartialEq)]
pub struct CloudFoundryConfig {
    /// Cloud Controller API.
    pub endpoint: EndpointConfig,
    /// Variable holding the OAuth bearer token.
    pub token_env: String,
    /// Seconds to wait for restarted instances to run.
    pub rollout_timeout_secs: u64,
}

/// `[backends.prometheus]`.
#[derive(Debug, Clone, PartialEq)]
pub struct PrometheusConfig {
    /// Server.
    pub endpoint: EndpointConfig,
    /// Credentials, if the server needs them.
    pub auth: AuthConfig,
    /// PromQL templates by metric name (`cpu`, `memory`, ...), replacing the defaults.
    pub queries: BTreeMap<String, String>,
    /// Namespace for `$namespace` in charts (health cards use their environment's).
    pub namespace: String,
}

/// `[backends.loki]`.
#[derive(Debug, Clone, PartialEq)]
pub struct LokiConfig {
    /// Server.
    pub endpoint: EndpointConfig,
    /// Credentials.
    pub auth: AuthConfig,
    /// Stream label holding the service name.
    pub service_label: String,
    /// Stream label holding the environment.
    pub env_label: String,
}

/// `[backends.elasticsearch]` (also OpenSearch).
#[derive(Debug, Clone, PartialEq)]
pub struct ElasticsearchConfig {
    /// Cluster.
    pub endpoint: EndpointConfig,
    /// Credentials.
    pub auth: AuthConfig,
    /// Index or pattern searched.
    pub index: String,
}

/// `[backends.grafana]`.
#[derive(Debug, Clone, PartialEq)]
pub struct GrafanaConfig {
    /// Server.
    pub endpoint: EndpointConfig,
    /// Variable holding a service account token.
    pub token_env: String,
}

/// `[backends.opnsense.<name>]`.
#[derive(Debug, Clone, PartialEq)]
pub struct OpnSenseConfig {
    /// Firewall name, as users say it.
    pub name: String,
    /// Its API.
    pub endpoint: EndpointConfig,
    /// Variable holding the API key.
    pub key_env: String,
    /// Variable holding the API secret.
    pub secret_env: String,
}

/// Keys every endpoint table may have.
const ENDPOINT_KEYS: [&str; 4] = ["url", "timeout_secs", "retries", "insecure_tls"];

impl Checker<'_> {
    /// `[environments]`: `default = "prod"` and one table per environment.
    pub(super) fn environments(&mut self, v: &Value, cfg: &mut BackendsConfig) {
        let Some(t) = self.table(v, "environments") else { return };
        for (name, value) in t {
            let path = join("environments", name);
            if name == "default" {
                match value {
                    Value::String(s) => cfg.default_env = Some(s.clone()),
                    other => self.error(&path, format!("expected an environment name, {}", super::found(other))),
                }
                continue;
            }
            let Some(env) = self.table(value, &path) else { continue };
            match self.one_of(env, &path, "platform", &["kubernetes", "cloudfoundry"]).as_deref() {
                Some("kubernetes") => {
                    self.unknown_keys(env, &path, &["platform", "cluster", "namespace"]);
                    let cluster = self.required_string(env, &path, "cluster");
                    let namespace = self.string(env, &path, "namespace").unwrap_or_else(|| "default".into());
                    if let Some(cluster) = cluster {
                        cfg.environments.insert(name.clone(), EnvConfig::Kubernetes { cluster, namespace });
                    }
                }
                Some(_) => {
                    self.unknown_keys(env, &path, &["platform", "space_guid"]);
                    if let Some(space_guid) = self.required_string(env, &path, "space_guid") {
                        cfg.environments.insert(name.clone(), EnvConfig::CloudFoundry { space_guid });
                    }
                }
                None if !env.contains_key("platform") => {
                    self.error(&join(&path, "platform"), "missing: \"kubernetes\" or \"cloudfoundry\"".into())
                }
                None => {}
            }
        }
    }

    /// `[backends]`: one table per backend kind.
    pub(super) fn backends(&mut self, v: &Value, cfg: &mut BackendsConfig) {
        let Some(t) = self.table(v, "backends") else { return };
        for (kind, value) in t {
            let path = join("backends", kind);
            let Some(section) = self.table(value, &path) else { continue };
            match kind.as_str() {
                "kubernetes" => {
                    for (name, cluster) in section {
                        let at = join(&path, name);
                        if let Some(c) = self.table(cluster, &at).and_then(|c| self.kubernetes(c, &at)) {
                            cfg.kubernetes.insert(name.clone(), c);
                        }
                    }
                }
                "cloudfoundry" => cfg.cloudfoundry = self.cloudfoundry(section, &path),
                "prometheus" => cfg.prometheus = self.prometheus(section, &path),
                "loki" => cfg.loki = self.loki(section, &path),
                "elasticsearch" => cfg.elasticsearch = self.elasticsearch(section, &path),
                "grafana" => cfg.grafana = self.grafana(section, &path),
                "opnsense" => {
                    for (name, fw) in section {
                        let at = join(&path, name);
                        if let Some(c) = self.table(fw, &at).and_then(|t| self.opnsense(name, t, &at)) {
                            cfg.opnsense.push(c);
                        }
                    }
                }
                _ => self.error(
                    &path,
                    "unknown backend (known: kubernetes, cloudfoundry, prometheus, loki, elasticsearch, grafana, \
                     opnsense)"
                        .into(),
                ),
            }
        }
    }

    /// Cross-checks once everything is read: environments name clusters that
    /// exist, Cloud Foundry environments have `[backends.cloudfoundry]`, the
    /// default environment exists, one log backend at most.
    pub(super) fn check_backends(&mut self, cfg: &mut BackendsConfig) {
        for (name, env) in &cfg.environments {
            let path = join("environments", name);
            match env {
                EnvConfig::Kubernetes { cluster, .. } if !cfg.kubernetes.contains_key(cluster) => self.error(
                    &join(&path, "cluster"),
                    format!("no [backends.kubernetes.{cluster}] table (clusters: {})", names(cfg.kubernetes.keys())),
                ),
                EnvConfig::CloudFoundry { .. } if cfg.cloudfoundry.is_none() => {
                    self.error(&join(&path, "platform"), "cloudfoundry needs a [backends.cloudfoundry] table".into())
                }
                _ => {}
            }
        }
        match &cfg.default_env {
            Some(d) if !cfg.environments.contains_key(d) => self.error(
                "environments.default",
                format!("no [environments.{d}] table (environments: {})", names(cfg.environments.keys())),
            ),
            Some(_) => {}
            None if cfg.environments.len() > 1 => self.error(
                "environments.default",
                "missing: with several environments, say which one a request without one means".into(),
            ),
            None => cfg.default_env = cfg.environments.keys().next().cloned(),
        }
        if cfg.loki.is_some() && cfg.elasticsearch.is_some() {
            self.error("backends.elasticsearch", "configure one log backend: loki or elasticsearch".into());
        }
        let unused: Vec<&String> = cfg
            .kubernetes
            .keys()
            .filter(|c| {
                !cfg.environments.values().any(|e| matches!(e, EnvConfig::Kubernetes { cluster, .. } if cluster == *c))
            })
            .collect();
        for c in unused {
            self.warning(&join("backends.kubernetes", c), "no environment uses this cluster".into());
        }
    }

    fn required_string(&mut self, t: &Table, path: &str, key: &str) -> Option<String> {
        if !t.contains_key(key) {
            self.error(&join(path, key), "missing".into());
            return None;
        }
        self.string(t, path, key).filter(|s| {
            let ok = !s.trim().is_empty();
            if !ok {
                self.error(&join(path, key), "must not be empty".into());
            }
            ok
        })
    }

    fn endpoint(&mut self, t: &Table, path: &str) -> Option<EndpointConfig> {
        let url = self.required_string(t, path, "url")?;
        if let Some(why) = super::url_problem(&url) {
            self.error(&join(path, "url"), format!("bad URL {url:?}: {why}"));
            return None;
        }
        let timeout_secs = match t.get("timeout_secs") {
            None => 10.0,
            Some(Value::Integer(n)) if (1..=600).contains(n) => *n as f64,
            Some(Value::Float(f)) if (0.05..=600.0).contains(f) => *f,
            Some(other) => {
                let at = join(path, "timeout_secs");
                self.error(&at, format!("expected seconds from 0.05 to 600, {}", super::found(other)));
                10.0
            }
        };
        let retries = self.int(t, path, "retries", 0, 10).unwrap_or(2) as u32;
        let insecure_tls = self.boolean(t, path, "insecure_tls").unwrap_or(false);
        Some(EndpointConfig { url, timeout_secs, retries, insecure_tls })
    }

    /// An `*_env` key: required, a variable name, and set.
    fn env_var(&mut self, t: &Table, path: &str, key: &str) -> Option<String> {
        let name = self.required_string(t, path, key)?;
        self.check_env_var(&join(path, key), &name).then_some(name)
    }

    fn check_env_var(&mut self, at: &str, name: &str) -> bool {
        self.env_value(at, name, "GRAFANA_TOKEN").is_some()
    }

    /// Optional credentials: `token_env`, or `username_env` with `password_env`.
    fn auth(&mut self, t: &Table, path: &str) -> AuthConfig {
        self.no_literal_secrets(t, path);
        let has = |k: &str| t.contains_key(k);
        if has("token_env") {
            if has("username_env") || has("password_env") {
                self.error(path, "give token_env or username_env/password_env, not both".into());
            }
            return self
                .env_var(t, path, "token_env")
                .map_or(AuthConfig::None, |token_env| AuthConfig::Bearer { token_env });
        }
        if has("username_env") || has("password_env") {
            let user = self.env_var(t, path, "username_env");
            let pass = self.env_var(t, path, "password_env");
            if let (Some(username_env), Some(password_env)) = (user, pass) {
                return AuthConfig::Basic { username_env, password_env };
            }
        }
        AuthConfig::None
    }

    fn no_literal_secrets(&mut self, t: &Table, path: &str) {
        for key in t.keys().filter(|k| super::is_secret_key(k)) {
            self.error(
                &join(path, key),
                format!("secrets are read only from environment variables: write `{key}_env = \"VAR_NAME\"`"),
            );
        }
    }

    fn known(&mut self, t: &Table, path: &str, extra: &[&str]) {
        let secret: Vec<&str> = t.keys().filter(|k| super::is_secret_key(k)).map(String::as_str).collect();
        let known: Vec<&str> = ENDPOINT_KEYS.iter().chain(extra).chain(&secret).copied().collect();
        self.unknown_keys(t, path, &known);
    }

    fn kubernetes(&mut self, t: &Table, path: &str) -> Option<KubernetesConfig> {
        self.known(t, path, &["token_env", "ca_file", "rollout_timeout_secs"]);
        self.no_literal_secrets(t, path);
        let endpoint = self.endpoint(t, path);
        let token_env = self.env_var(t, path, "token_env");
        let ca_file = self.string(t, path, "ca_file").map(PathBuf::from);
        let rollout_timeout_secs = self.int(t, path, "rollout_timeout_secs", 1, 3600).unwrap_or(300) as u64;
        Some(KubernetesConfig { endpoint: endpoint?, token_env: token_env?, ca_file, rollout_timeout_secs })
    }

    fn cloudfoundry(&mut self, t: &Table, path: &str) -> Option<CloudFoundryConfig> {
        self.known(t, path, &["token_env", "rollout_timeout_secs"]);
        self.no_literal_secrets(t, path);
        let endpoint = self.endpoint(t, path);
        let token_env = self.env_var(t, path, "token_env");
        let rollout_timeout_secs = self.int(t, path, "rollout_timeout_secs", 1, 3600).unwrap_or(300) as u64;
        Some(CloudFoundryConfig { endpoint: endpoint?, token_env: token_env?, rollout_timeout_secs })
    }

    fn prometheus(&mut self, t: &Table, path: &str) -> Option<PrometheusConfig> {
        self.known(t, path, &["token_env", "username_env", "password_env", "queries", "namespace"]);
        let endpoint = self.endpoint(t, path);
        let auth = self.auth(t, path);
        let namespace = self.string(t, path, "namespace").unwrap_or_else(|| "default".into());
        let mut queries = BTreeMap::new();
        if let Some(q) = t.get("queries") {
            let at = join(path, "queries");
            if let Some(q) = self.table(q, &at) {
                let metrics = ["cpu", "memory", "requests", "errors", "latency_p99"];
                self.unknown_keys(q, &at, &metrics);
                for m in metrics {
                    if let Some(s) = self.string(q, &at, m) {
                        queries.insert(m.to_string(), s);
                    }
                }
            }
        }
        Some(PrometheusConfig { endpoint: endpoint?, auth, queries, namespace })
    }

    fn loki(&mut self, t: &Table, path: &str) -> Option<LokiConfig> {
        self.known(t, path, &["token_env", "username_env", "password_env", "service_label", "env_label"]);
        let endpoint = self.endpoint(t, path);
        let auth = self.auth(t, path);
        let service_label = self.label(t, path, "service_label").unwrap_or_else(|| "service".into());
        let env_label = self.label(t, path, "env_label").unwrap_or_else(|| "env".into());
        Some(LokiConfig { endpoint: endpoint?, auth, service_label, env_label })
    }

    /// A Prometheus/Loki label name: `[a-zA-Z_][a-zA-Z0-9_]*`.
    fn label(&mut self, t: &Table, path: &str, key: &str) -> Option<String> {
        let s = self.string(t, path, key)?;
        let mut chars = s.chars();
        let ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
        if ok {
            Some(s)
        } else {
            self.error(&join(path, key), format!("{s:?} is not a label name ([a-zA-Z_][a-zA-Z0-9_]*)"));
            None
        }
    }

    fn elasticsearch(&mut self, t: &Table, path: &str) -> Option<ElasticsearchConfig> {
        self.known(t, path, &["token_env", "username_env", "password_env", "index"]);
        let endpoint = self.endpoint(t, path);
        let auth = self.auth(t, path);
        let index = self.string(t, path, "index").unwrap_or_else(|| "logs-*".into());
        if index.contains(['/', '?', '#', ' ']) || index.is_empty() {
            self.error(&join(path, "index"), format!("{index:?} is not an index name or pattern"));
            return None;
        }
        Some(ElasticsearchConfig { endpoint: endpoint?, auth, index })
    }

    fn grafana(&mut self, t: &Table, path: &str) -> Option<GrafanaConfig> {
        self.known(t, path, &["token_env"]);
        self.no_literal_secrets(t, path);
        let endpoint = self.endpoint(t, path);
        let token_env = self.env_var(t, path, "token_env");
        Some(GrafanaConfig { endpoint: endpoint?, token_env: token_env? })
    }

    fn opnsense(&mut self, name: &str, t: &Table, path: &str) -> Option<OpnSenseConfig> {
        self.known(t, path, &["key_env", "secret_env"]);
        self.no_literal_secrets(t, path);
        let endpoint = self.endpoint(t, path);
        let key_env = self.env_var(t, path, "key_env");
        let secret_env = self.env_var(t, path, "secret_env");
        Some(OpnSenseConfig { name: name.to_string(), endpoint: endpoint?, key_env: key_env?, secret_env: secret_env? })
    }
}

fn names<'a>(it: impl Iterator<Item = &'a String>) -> String {
    let v: Vec<&str> = it.map(String::as_str).collect();
    if v.is_empty() { "none".into() } else { v.join(", ") }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Level, parse};

    fn check(text: &str) -> (BackendsConfig, Vec<String>) {
        let (c, p) = parse(text, &|k| k.starts_with("SET_").then(|| "x".to_string()));
        let errors =
            p.iter().filter(|p| p.level == Level::Error).map(|p| format!("{}: {}", p.key, p.message)).collect();
        (c.backends, errors)
    }

    const FULL: &str = r#"
[environments]
default = "prod"
[environments.prod]
platform = "kubernetes"
cluster = "prod-a"
namespace = "payments"
[environments.staging]
platform = "cloudfoundry"
space_guid = "0a1b"

[backends.kubernetes.prod-a]
url = "https://k8s.example.com:6443"
token_env = "SET_K8S"
rollout_timeout_secs = 60
[backends.cloudfoundry]
url = "https://api.cf.example.com"
token_env = "SET_CF"
[backends.prometheus]
url = "http://prometheus:9090"
timeout_secs = 2.5
[backends.prometheus.queries]
cpu = "sum(rate(cpu{app=\"$service\"}[5m]))"
[backends.loki]
url = "http://loki:3100"
service_label = "app"
[backends.grafana]
url = "https://grafana.example.com"
token_env = "SET_GRAFANA"
[backends.opnsense.fw-edge-1]
url = "https://10.0.0.1"
key_env = "SET_KEY"
secret_env = "SET_SECRET"
insecure_tls = true
"#;

    #[test]
    fn reads_a_full_file() {
        let (b, errors) = check(FULL);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(b.default_env.as_deref(), Some("prod"));
        assert_eq!(
            b.environments["prod"],
            EnvConfig::Kubernetes { cluster: "prod-a".into(), namespace: "payments".into() }
        );
        assert_eq!(b.environments["staging"], EnvConfig::CloudFoundry { space_guid: "0a1b".into() });
        assert_eq!(b.kubernetes["prod-a"].rollout_timeout_secs, 60);
        assert_eq!(b.prometheus.as_ref().unwrap().endpoint.timeout_secs, 2.5);
        assert!(b.prometheus.as_ref().unwrap().queries["cpu"].contains("$service"));
        assert_eq!(b.loki.as_ref().unwrap().service_label, "app");
        assert_eq!(b.opnsense[0].name, "fw-edge-1");
        assert!(b.opnsense[0].endpoint.insecure_tls);
        assert!(!b.is_empty());
    }

    #[test]
    fn problems_name_their_keys() {
        let (_, errors) = check(
            r#"
[environments.prod]
platform = "kubernetes"
cluster = "nope"
[environments.dev]
platform = "nomad"
[backends.grafana]
url = "grafana:3000"
token = "glsa_123"
token_env = "UNSET_GRAFANA"
[backends.loki]
url = "http://loki:3100"
service_label = "app-name"
[backends.elasticsearch]
url = "http://es:9200"
[backends.kubernetes.prod-b]
token_env = "SET_K8S"
[backends.splunk]
url = "http://x"
"#,
        );
        let keys: Vec<&str> = errors.iter().map(|e| e.split(':').next().unwrap()).collect();
        for k in [
            "environments.prod.cluster",
            "environments.dev.platform",
            "backends.grafana.url",
            "backends.grafana.token",
            "backends.grafana.token_env",
            "backends.loki.service_label",
            "backends.elasticsearch",
            "backends.kubernetes.prod-b.url",
            "backends.splunk",
        ] {
            assert!(keys.contains(&k), "{k} missing from {errors:#?}");
        }
    }

    #[test]
    fn one_environment_is_the_default() {
        let (b, errors) = check(
            "[environments.prod]\nplatform = \"cloudfoundry\"\nspace_guid = \"s\"\n\
             [backends.cloudfoundry]\nurl = \"http://cf\"\ntoken_env = \"SET_CF\"\n",
        );
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(b.default_env.as_deref(), Some("prod"));
    }

    #[test]
    fn several_environments_need_a_default() {
        let (_, errors) = check(
            "[environments.a]\nplatform = \"cloudfoundry\"\nspace_guid = \"s\"\n\
             [environments.b]\nplatform = \"cloudfoundry\"\nspace_guid = \"t\"\n\
             [backends.cloudfoundry]\nurl = \"http://cf\"\ntoken_env = \"SET_CF\"\n",
        );
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(errors[0].starts_with("environments.default: missing"), "{errors:?}");
    }

    #[test]
    fn no_backends_means_demo() {
        let (b, _) = check("[demo]\nseed = 1\n");
        assert!(b.is_empty());
    }
}
