//! The `Skill` trait: what every skill declares and does.

use crate::backends::{Backends, Progress};
use crate::card::Card;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// How much harm a skill can do; the policy step gates on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Risk {
    /// Reads only.
    Read,
    /// Changes state, reversibly (restart, silence, ack).
    Change,
    /// Hard to undo.
    Destructive,
}

/// A resolved time window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    /// Start, inclusive.
    pub from: DateTime<Utc>,
    /// End, exclusive.
    pub to: DateTime<Utc>,
}

/// What the core hands a skill: the intent's slots, already resolved, and who asks.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Request {
    /// The pipilu user asking.
    pub user: String,
    /// Service name, canonical.
    pub service: Option<String>,
    /// Environment (`prod`, `staging`, ...).
    pub env: Option<String>,
    /// Namespace.
    pub namespace: Option<String>,
    /// Time window.
    pub window: Option<Window>,
    /// Free-text search words for logs. Escaped by the backend, never spliced.
    pub query: Option<String>,
    /// Log level (`error`, `warn`, ...).
    pub level: Option<String>,
    /// Dashboard name or uid.
    pub dashboard: Option<String>,
    /// Panel id or title.
    pub panel: Option<String>,
    /// Firewall name.
    pub firewall: Option<String>,
    /// Incident or alert id.
    pub incident: Option<String>,
    /// Severity.
    pub severity: Option<String>,
    /// Duration in seconds (silences).
    pub duration_secs: Option<u64>,
    /// Label matcher in Alertmanager form (`alertname=HighCPU`; a bare alert name in chat arrives as that).
    pub matcher: Option<String>,
    /// A user named in the request (audit queries).
    pub subject_user: Option<String>,
    /// Current time, so skills and tests agree on "now".
    pub now: Option<DateTime<Utc>>,
    /// Where a long action reports its steps (a restart following its rollout).
    #[serde(skip)]
    pub progress: Progress,
}

/// Why a skill could not answer. The core turns it into an error card.
#[derive(Debug, thiserror::Error)]
pub enum SkillError {
    /// A required slot is missing; the core asks for it.
    #[error("missing {0}")]
    Missing(&'static str),
    /// The named thing does not exist; `suggestions` are close names.
    #[error("I don't know a {kind} called '{name}'")]
    Unknown {
        /// What kind of thing (service, dashboard, firewall).
        kind: &'static str,
        /// The name as given.
        name: String,
        /// Close known names, best first.
        suggestions: Vec<String>,
    },
    /// A backend failed.
    #[error("{backend}: {call} failed: {cause}")]
    Backend {
        /// Which backend (`demo`, `kubernetes`, `prometheus`, ...).
        backend: String,
        /// Which call.
        call: String,
        /// The cause, for humans.
        cause: String,
    },
    /// The skill is routed but its backend is not configured yet.
    #[error("{0} is not configured yet")]
    NotConfigured(&'static str),
}

/// A skill: one intent, the slots it needs, its risk, and how to answer.
#[async_trait]
pub trait Skill: Send + Sync {
    /// The NLU intent it serves.
    fn intent(&self) -> &'static str;
    /// Slots without which it cannot run (the core asks for them).
    fn required_slots(&self) -> &'static [&'static str];
    /// Risk tier.
    fn risk(&self) -> Risk;
    /// Runs against the backends and answers with a card.
    async fn run(&self, req: &Request, backends: &Backends) -> Result<Card, SkillError>;
}
