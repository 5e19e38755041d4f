//! prometheus client (to be written).
