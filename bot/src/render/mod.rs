//! Turning cards into something a platform shows: console text, JSON, Slack Block Kit, Telegram HTML.

pub mod blockkit;
pub mod console;
pub mod images;
pub mod json;
pub mod table;
pub mod telegram;

pub use console::{ButtonHints, Console};
pub use images::ImageStore;

use skills::Status;

/// A card's status as the emoji the chat renderers (Slack, Telegram) put before its title.
pub fn status_emoji(status: Status) -> &'static str {
    match status {
        Status::Ok => "✅",
        Status::Warning => "⚠️",
        Status::Critical => "🔴",
        Status::Unknown => "❔",
    }
}
