//! grafana client (to be written).
