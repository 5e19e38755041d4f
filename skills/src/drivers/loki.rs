//! loki client (to be written).
