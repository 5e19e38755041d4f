//! Turning cards into something a platform shows: console text, JSON.

pub mod console;
pub mod images;
pub mod json;

pub use console::{ButtonHints, Console};
pub use images::ImageStore;
