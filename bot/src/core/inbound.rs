//! What arrives from a chat platform, in one shape for every adapter.

use serde::Serialize;

/// The chat platform a message came from (for logs, and later per-platform rules).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Platform {
    /// The local terminal (`pipilu chat`, `pipilu ask`).
    Console,
    /// Slack.
    Slack,
    /// Telegram.
    Telegram,
    /// The HTTP API.
    Http,
}

/// Who sent a message, as the platform names them (the local operator on the console).
pub type UserId = String;

/// A typed sentence or a click on a button of an earlier card.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Content {
    /// A sentence to understand.
    Text(String),
    /// A button click: the button's `action` and `payload`, sent by the clicker.
    Action {
        /// Action name (`run`, `restart`, `logs`, `refresh`, ...).
        action: String,
        /// What the action needs (a service name, an encoded request).
        payload: String,
    },
}

/// One inbound message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inbound {
    /// Where it came from.
    pub platform: Platform,
    /// The chat (channel, DM, terminal session) it belongs to; follow-up questions are kept per conversation.
    pub conversation: String,
    /// Who sent it; skills see it as the requester.
    pub user: UserId,
    /// What was sent.
    pub content: Content,
}

impl Inbound {
    /// A typed sentence.
    pub fn text(platform: Platform, conversation: &str, user: &str, text: impl Into<String>) -> Self {
        Inbound {
            platform,
            conversation: conversation.to_string(),
            user: user.to_string(),
            content: Content::Text(text.into()),
        }
    }

    /// A button click.
    pub fn action(
        platform: Platform,
        conversation: &str,
        user: &str,
        action: impl Into<String>,
        payload: impl Into<String>,
    ) -> Self {
        Inbound {
            platform,
            conversation: conversation.to_string(),
            user: user.to_string(),
            content: Content::Action { action: action.into(), payload: payload.into() },
        }
    }
}
