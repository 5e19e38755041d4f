//! pipilu's bot: the core (normalise, understand, decide, run), the renderers,
//! the console adapter, configuration and the command line.
//!
//! Data flows one way: adapter -> [`core`] -> nlu -> [`core::policy`] -> skill
//! -> backend, and a [`skills::Card`] back, rendered by [`render`].

pub mod adapters;
pub mod app;
pub mod cli;
pub mod config;
pub mod core;
pub mod embedded;
pub mod render;
pub mod serve;
pub mod wiring;
