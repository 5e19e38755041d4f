//! Turning cards into something a platform shows: console text, JSON, Slack Block Kit.

pub mod blockkit;
pub mod console;
pub mod images;
pub mod json;

pub use console::{ButtonHints, Console};
pub use images::ImageStore;
