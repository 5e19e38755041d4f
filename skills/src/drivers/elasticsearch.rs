//! elasticsearch client (to be written).
