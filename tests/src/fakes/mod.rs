//! Stateful fakes of the backends' HTTP APIs, served by axum on 127.0.0.1 with a
//! free port. They follow the documented response shapes closely enough that the
//! real clients cannot tell, and they keep state: a restart makes new pods, a
//! query reads what was seeded. Each also has switches for the error paths
//! (down, 500, slow, malformed JSON, 401).

pub mod cloudfoundry;
pub mod elasticsearch;
pub mod grafana;
pub mod kubernetes;
pub mod loki;
pub mod opnsense;
mod server;
pub mod slack;
pub mod telegram;

pub use server::{Fault, FaultSwitch, Served, serve};
