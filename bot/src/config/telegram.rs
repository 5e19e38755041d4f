//! `[telegram]`: the Telegram adapter's settings, checked like every other section.
//!
//! The bot token is never in the file: `token_env` names the variable that holds it,
//! and the token is read once here so a missing variable is reported with the rest.

use super::{Checker, found, join, url_problem};
use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use toml::Value;

/// Longest `poll_timeout_secs` accepted (Telegram allows up to 50).
pub const MAX_POLL_TIMEOUT_SECS: u32 = 50;

/// How updates reach the bot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TelegramMode {
    /// `getUpdates` long polling: works behind NAT, no public URL needed.
    #[default]
    Polling,
    /// Telegram posts updates to `webhook_url`, which reaches pipilu at `listen`.
    Webhook,
}

/// The bot token; its `Debug` is redacted so it never reaches a log.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct BotToken(pub String);

impl fmt::Debug for BotToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BotToken(***)")
    }
}

/// `[telegram]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TelegramConfig {
    /// Name of the environment variable holding the bot token.
    pub token_env: String,
    /// The token read from it.
    pub token: BotToken,
    /// Bot API base URL (default Telegram's; a loopback fake in tests).
    pub api_url: Option<String>,
    /// Polling or webhook.
    pub mode: TelegramMode,
    /// Where the last handled update id is kept (default: the user's state folder).
    pub state_file: Option<PathBuf>,
    /// Telegram user id -> pipilu user. Everybody else is refused.
    pub users: BTreeMap<String, String>,
    /// Groups the bot answers in; empty means any group (private chats are governed by `users`).
    pub allowed_chats: Vec<i64>,
    /// How long one `getUpdates` waits for news.
    pub poll_timeout_secs: u32,
    /// Webhook mode: the public HTTPS URL Telegram posts to (registered with `setWebhook`).
    pub webhook_url: Option<String>,
    /// Webhook mode: where pipilu listens for those posts (behind the proxy that serves `webhook_url`).
    pub listen: std::net::SocketAddr,
    /// Webhook mode: the secret Telegram echoes in `X-Telegram-Bot-Api-Secret-Token`.
    pub secret_token: Option<BotToken>,
}

impl TelegramConfig {
    /// Settings with defaults and no users, for a token already at hand (tests, embedding).
    pub fn new(token: impl Into<String>) -> Self {
        TelegramConfig {
            token_env: String::new(),
            token: BotToken(token.into()),
            api_url: None,
            mode: TelegramMode::Polling,
            state_file: None,
            users: BTreeMap::new(),
            allowed_chats: Vec::new(),
            poll_timeout_secs: 25,
            webhook_url: None,
            listen: std::net::SocketAddr::from(([127, 0, 0, 1], 8443)),
            secret_token: None,
        }
    }

    /// The state file: `state_file`, else `$XDG_STATE_HOME/pipilu/telegram-offset`
    /// (or `~/.local/state/pipilu/telegram-offset`); `None` when no home is known.
    pub fn state_path(&self) -> Option<PathBuf> {
        if let Some(p) = &self.state_file {
            return Some(p.clone());
        }
        let state = std::env::var_os("XDG_STATE_HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))?;
        Some(state.join("pipilu").join("telegram-offset"))
    }
}

const KEYS: &[&str] = &[
    "token_env",
    "api_url",
    "mode",
    "state_file",
    "users",
    "allowed_chats",
    "poll_timeout_secs",
    "webhook_url",
    "listen",
    "secret_token_env",
];

impl Checker<'_> {
    /// Checks `[telegram]`; `None` when it cannot be used (the problems say why).
    pub(super) fn telegram(&mut self, v: &Value) -> Option<TelegramConfig> {
        let p = "telegram";
        let t = self.table(v, p)?;
        self.unknown_keys(t, p, KEYS);
        let mut cfg = TelegramConfig::new("");
        let mut usable = true;
        match self.string(t, p, "token_env") {
            None if !t.contains_key("token_env") => {
                self.error(
                    &join(p, "token_env"),
                    "missing: name the environment variable holding the bot token".into(),
                );
                usable = false;
            }
            None => usable = false,
            Some(name) => match self.env_value(&join(p, "token_env"), &name, "TELEGRAM_BOT_TOKEN") {
                Some(token) => {
                    cfg.token = BotToken(token.trim().to_string());
                    cfg.token_env = name;
                }
                None => usable = false,
            },
        }
        if let Some(url) = self.string(t, p, "api_url") {
            match url_problem(&url) {
                Some(why) => {
                    self.error(&join(p, "api_url"), format!("bad URL {url:?}: {why}"));
                    usable = false;
                }
                None => cfg.api_url = Some(url),
            }
        }
        if let Some(m) = self.one_of(t, p, "mode", &["polling", "webhook"]) {
            cfg.mode = if m == "webhook" { TelegramMode::Webhook } else { TelegramMode::Polling };
        }
        if let Some(url) = self.string(t, p, "webhook_url") {
            match url_problem(&url) {
                Some(why) => self.error(&join(p, "webhook_url"), format!("bad URL {url:?}: {why}")),
                None if !url.starts_with("https://") => {
                    self.error(&join(p, "webhook_url"), "Telegram posts only to https:// URLs".into())
                }
                None => cfg.webhook_url = Some(url),
            }
        }
        if let Some(l) = self.string(t, p, "listen") {
            match l.parse() {
                Ok(addr) => cfg.listen = addr,
                Err(_) => {
                    self.error(&join(p, "listen"), format!("expected host:port such as 127.0.0.1:8443, found {l:?}"))
                }
            }
        }
        if let Some(name) = self.string(t, p, "secret_token_env") {
            let at = join(p, "secret_token_env");
            match self.env_value(&at, &name, "TELEGRAM_SECRET_TOKEN").map(|v| v.trim().to_string()) {
                Some(v) if v.len() <= 256 && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') => {
                    cfg.secret_token = Some(BotToken(v))
                }
                Some(_) => {
                    self.error(&at, format!("the value of {name} must be 1-256 characters of A-Z, a-z, 0-9, _ and -"))
                }
                None => {}
            }
        }
        if cfg.mode == TelegramMode::Webhook {
            for (key, missing) in
                [("webhook_url", cfg.webhook_url.is_none()), ("secret_token_env", cfg.secret_token.is_none())]
            {
                if missing && !t.contains_key(key) {
                    self.error(&join(p, key), "missing: webhook mode needs it".into());
                }
            }
            usable &= cfg.webhook_url.is_some() && cfg.secret_token.is_some();
        }
        if let Some(s) = self.string(t, p, "state_file") {
            cfg.state_file = Some(PathBuf::from(s));
        }
        if let Some(n) = self.int(t, p, "poll_timeout_secs", 0, i64::from(MAX_POLL_TIMEOUT_SECS)) {
            cfg.poll_timeout_secs = n as u32;
        }
        if let Some(v) = t.get("users") {
            self.telegram_users(v, &mut cfg.users);
        }
        if cfg.users.is_empty() {
            self.warning(
                p,
                "no users mapped: every message will be refused (add users = { \"12345\" = \"alice\" })".into(),
            );
        }
        if let Some(v) = t.get("allowed_chats") {
            let at = join(p, "allowed_chats");
            match v {
                Value::Array(items) => {
                    for (i, item) in items.iter().enumerate() {
                        match item {
                            Value::Integer(id) => cfg.allowed_chats.push(*id),
                            other => self.error(&format!("{at}[{i}]"), format!("expected a chat id, {}", found(other))),
                        }
                    }
                }
                other => self.error(&at, format!("expected an array of chat ids, {}", found(other))),
            }
        }
        usable.then_some(cfg)
    }

    fn telegram_users(&mut self, v: &Value, users: &mut BTreeMap<String, String>) {
        let at = "telegram.users";
        let Some(t) = self.table(v, at) else { return };
        for (id, name) in t {
            let key = join(at, id);
            if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
                self.error(&key, "expected a numeric Telegram user id as the key".into());
                continue;
            }
            match name {
                Value::String(n) if !n.trim().is_empty() => {
                    users.insert(id.clone(), n.trim().to_string());
                }
                other => self.error(&key, format!("expected the pipilu user name, {}", found(other))),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Level, parse};
    use super::*;

    fn check(text: &str) -> (Option<TelegramConfig>, Vec<(Level, String)>) {
        let (c, p) = parse(text, &|k| (k == "TG_TOKEN").then(|| "123:abc".to_string()));
        (c.telegram, p.into_iter().map(|p| (p.level, p.key)).collect())
    }

    #[test]
    fn reads_every_key() {
        let (c, p) = check(
            "[telegram]\ntoken_env = \"TG_TOKEN\"\napi_url = \"http://127.0.0.1:9\"\nmode = \"polling\"\n\
             state_file = \"/tmp/x\"\npoll_timeout_secs = 5\nallowed_chats = [-100123]\n\
             users = { \"12345\" = \"alice\" }\n",
        );
        assert!(p.is_empty(), "{p:?}");
        let c = c.expect("usable");
        assert_eq!(c.token, BotToken("123:abc".into()));
        assert_eq!(c.api_url.as_deref(), Some("http://127.0.0.1:9"));
        assert_eq!(c.users.get("12345").map(String::as_str), Some("alice"));
        assert_eq!(c.allowed_chats, [-100123]);
        assert_eq!(c.poll_timeout_secs, 5);
        assert_eq!(c.state_path(), Some(PathBuf::from("/tmp/x")));
        assert!(!format!("{c:?}").contains("abc"), "the token must not be printed");
    }

    #[test]
    fn every_problem_has_its_key() {
        let (c, p) = check(
            "[telegram]\ntoken_env = \"UNSET\"\nmode = \"push\"\npoll_timeout_secs = 99\ntoken = \"x\"\n\
             allowed_chats = [\"ops\"]\nusers = { alice = \"alice\", \"7\" = 1 }\n",
        );
        assert!(c.is_none());
        let errors: Vec<&str> = p.iter().filter(|(l, _)| *l == Level::Error).map(|(_, k)| k.as_str()).collect();
        assert_eq!(
            errors,
            [
                "telegram.token",
                "telegram.token_env",
                "telegram.mode",
                "telegram.poll_timeout_secs",
                "telegram.users.7",
                "telegram.users.alice",
                "telegram.allowed_chats[0]",
            ]
        );
        assert!(p.contains(&(Level::Warning, "telegram".into())), "no users: warned");
    }

    #[test]
    fn env_keys_must_name_a_variable() {
        let (_, p) = parse(
            "[telegram]\ntoken_env = \"tg token\"\nsecret_token_env = \"$SECRET\"\nusers = { \"1\" = \"a\" }\n",
            &|_| Some("set".to_string()),
        );
        let bad: Vec<(&str, &str)> = p.iter().map(|p| (p.key.as_str(), p.message.as_str())).collect();
        assert_eq!(
            bad,
            [
                (
                    "telegram.token_env",
                    "\"tg token\" is not an environment variable name (expected e.g. \"TELEGRAM_BOT_TOKEN\")"
                ),
                (
                    "telegram.secret_token_env",
                    "\"$SECRET\" is not an environment variable name (expected e.g. \"TELEGRAM_SECRET_TOKEN\")"
                ),
            ]
        );
    }

    #[test]
    fn token_env_is_required() {
        let (c, p) = check("[telegram]\nusers = { \"1\" = \"a\" }\n");
        assert!(c.is_none());
        assert_eq!(p, [(Level::Error, "telegram.token_env".to_string())]);
    }
}
