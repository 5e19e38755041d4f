//! Turning cards into something a platform shows: console text, JSON, Slack Block Kit, Telegram HTML.

pub mod blockkit;
pub mod console;
pub mod images;
pub mod json;
pub mod table;
pub mod telegram;

pub use console::{ButtonHints, Console};
pub use images::ImageStore;
