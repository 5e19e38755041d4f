//! Fake loki API (to be written).
