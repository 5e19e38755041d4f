//! Real backends: one client per file, each implementing a trait of
//! [`crate::backends`] over the system's own API. They share [`http`]: timeouts,
//! bounded retries with backoff for reads (never for changes), and errors that
//! name the backend, the call and the cause.

pub mod cloudfoundry;
pub mod elasticsearch;
pub mod grafana;
pub mod http;
pub mod kubernetes;
pub mod loki;
pub mod opnsense;
pub mod prometheus;
pub mod routed;
pub mod unconfigured;
