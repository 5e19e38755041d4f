//! Fake opnsense API (to be written).
