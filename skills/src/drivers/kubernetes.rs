//! kubernetes client (to be written).
