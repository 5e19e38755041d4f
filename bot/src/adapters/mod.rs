//! Adapters: chat platforms in, cards out. Each turns platform messages into
//! [`crate::core::Inbound`] and renders the [`crate::core::Reply`].

pub mod console;
pub mod slack;
pub mod telegram;
