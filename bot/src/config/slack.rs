//! `[slack]`: the Slack adapter. Tokens and the signing secret stay in the
//! environment; the file names the variables (checked to be set) and maps Slack
//! users and user groups to pipilu users.

use super::{Checker, found, join, url_problem};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use toml::{Table, Value};

/// How Slack delivers events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlackMode {
    /// A WebSocket opened by pipilu (needs an app-level token; no public URL).
    Socket,
    /// Slack POSTs signed events to an HTTP endpoint pipilu serves (needs the signing secret).
    Events,
}

/// `[slack]`, with secrets still as the names of environment variables.
#[derive(Debug, Clone, PartialEq)]
pub struct SlackConfig {
    /// Variable holding the bot token (`xoxb-...`).
    pub bot_token_env: String,
    /// Variable holding the app-level token (`xapp-...`) for Socket Mode.
    pub app_token_env: Option<String>,
    /// Variable holding the signing secret for the Events API.
    pub signing_secret_env: Option<String>,
    /// Socket Mode when an app token is configured, else the Events API (unless `mode` says otherwise).
    pub mode: SlackMode,
    /// Where the Events API endpoint listens.
    pub listen: SocketAddr,
    /// Base URL of the Web API (`https://slack.com/api/`); a loopback fake in tests.
    pub api_url: Option<String>,
    /// Slack user id -> pipilu user.
    pub users: BTreeMap<String, String>,
    /// Slack user group id -> pipilu user for each member.
    pub user_groups: BTreeMap<String, String>,
}

impl SlackConfig {
    /// A config with the given bot token variable and defaults for the rest (Events API on 127.0.0.1:3000).
    pub fn new(bot_token_env: impl Into<String>) -> Self {
        SlackConfig {
            bot_token_env: bot_token_env.into(),
            app_token_env: None,
            signing_secret_env: None,
            mode: SlackMode::Events,
            listen: SocketAddr::from(([127, 0, 0, 1], 3000)),
            api_url: None,
            users: BTreeMap::new(),
            user_groups: BTreeMap::new(),
        }
    }
}

const KEYS: &[&str] =
    &["bot_token_env", "app_token_env", "signing_secret_env", "mode", "listen", "api_url", "users", "user_groups"];

impl Checker<'_> {
    /// Checks `[slack]`; `None` when it is unusable (every problem is reported).
    pub(super) fn slack(&mut self, v: &Value) -> Option<SlackConfig> {
        let path = "slack";
        let t = self.table(v, path)?;
        self.unknown_keys(t, path, KEYS);
        let bot = self.slack_env(t, path, "bot_token_env", true);
        let app = self.slack_env(t, path, "app_token_env", false);
        let secret = self.slack_env(t, path, "signing_secret_env", false);
        let mode = match self.one_of(t, path, "mode", &["socket", "events"]).as_deref() {
            Some("socket") => SlackMode::Socket,
            Some(_) => SlackMode::Events,
            None if t.contains_key("app_token_env") => SlackMode::Socket,
            None => SlackMode::Events,
        };
        if mode == SlackMode::Socket && !t.contains_key("app_token_env") {
            self.error(&join(path, "app_token_env"), "Socket Mode needs an app-level token (xapp-...)".into());
        }
        if mode == SlackMode::Events && !t.contains_key("signing_secret_env") {
            self.error(&join(path, "signing_secret_env"), "the Events API needs the app's signing secret".into());
        }
        let mut cfg = SlackConfig::new(bot.clone().unwrap_or_default());
        cfg.mode = mode;
        cfg.app_token_env = app;
        cfg.signing_secret_env = secret;
        if let Some(s) = self.string(t, path, "listen") {
            match s.parse::<SocketAddr>() {
                Ok(a) => cfg.listen = a,
                Err(_) => self
                    .error(&join(path, "listen"), format!("expected host:port like \"127.0.0.1:3000\", found {s:?}")),
            }
        }
        if let Some(s) = self.string(t, path, "api_url") {
            match url_problem(&s) {
                Some(why) => self.error(&join(path, "api_url"), format!("bad URL {s:?}: {why}")),
                None => cfg.api_url = Some(s),
            }
        }
        cfg.users = self.slack_map(t, path, "users", 'U');
        cfg.user_groups = self.slack_map(t, path, "user_groups", 'S');
        bot.map(|_| cfg)
    }

    fn slack_env(&mut self, t: &Table, path: &str, key: &str, required: bool) -> Option<String> {
        let at = join(path, key);
        let name = match t.get(key) {
            None if required => {
                self.error(&at, "required: the name of the environment variable that holds it".into());
                return None;
            }
            None => return None,
            Some(Value::String(s)) => s.clone(),
            Some(other) => {
                self.error(&at, format!("expected the name of an environment variable, {}", found(other)));
                return None;
            }
        };
        self.env_value(&at, &name, "SLACK_BOT_TOKEN").map(|_| name)
    }

    /// `users = { "U123" = "alice" }`: Slack ids (starting with `prefix`) to pipilu names.
    fn slack_map(&mut self, t: &Table, path: &str, key: &str, prefix: char) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        let Some(v) = t.get(key) else { return out };
        let at = join(path, key);
        let Some(m) = self.table(v, &at) else { return out };
        for (id, name) in m {
            let here = join(&at, id);
            let id_ok = id.starts_with(prefix) && id.len() > 1 && id.chars().all(|c| c.is_ascii_alphanumeric());
            if !id_ok {
                self.error(&here, format!("expected a Slack id starting with {prefix} (like \"{prefix}0123ABC\")"));
                continue;
            }
            match name {
                Value::String(s) if !s.trim().is_empty() => {
                    out.insert(id.clone(), s.trim().to_string());
                }
                other => self.error(&here, format!("expected a pipilu user name, {}", found(other))),
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use crate::config::{Level, parse};

    use super::*;

    fn check(text: &str) -> (Option<SlackConfig>, Vec<String>) {
        let (c, p) = parse(text, &|k| k.starts_with("SET").then(|| "x".to_string()));
        (c.slack, p.iter().filter(|p| p.level == Level::Error).map(|p| p.key.clone()).collect())
    }

    #[test]
    fn reads_a_socket_mode_section() {
        let (c, p) = check(
            "[slack]\nbot_token_env = \"SET_BOT\"\napp_token_env = \"SET_APP\"\n\
             users = { \"U123\" = \"alice\" }\nuser_groups = { \"S01\" = \"oncall\" }\n",
        );
        assert!(p.is_empty(), "{p:?}");
        let c = c.expect("config");
        assert_eq!(c.mode, SlackMode::Socket);
        assert_eq!(c.users.get("U123").map(String::as_str), Some("alice"));
        assert_eq!(c.user_groups.get("S01").map(String::as_str), Some("oncall"));
    }

    #[test]
    fn every_problem_has_its_key() {
        let (c, p) = check(
            "[slack]\nmode = \"events\"\nlisten = \"nowhere\"\napi_url = \"ftp://x\"\ntoken = \"xoxb\"\n\
             users = { \"alice\" = \"alice\", \"U1\" = 3 }\n",
        );
        assert!(c.is_none());
        assert_eq!(
            p,
            [
                "slack.token",
                "slack.bot_token_env",
                "slack.signing_secret_env",
                "slack.listen",
                "slack.api_url",
                "slack.users.U1",
                "slack.users.alice",
            ]
        );
    }
}
