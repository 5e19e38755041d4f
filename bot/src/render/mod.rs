//! Turning cards into something a platform shows: console text, JSON, Telegram HTML.

pub mod console;
pub mod images;
pub mod json;
pub mod telegram;

pub use console::{ButtonHints, Console};
pub use images::ImageStore;
