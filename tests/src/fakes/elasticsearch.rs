//! Fake elasticsearch API (to be written).
