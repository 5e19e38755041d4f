//! Fake kubernetes API (to be written).
