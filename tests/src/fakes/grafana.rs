//! Fake grafana API (to be written).
