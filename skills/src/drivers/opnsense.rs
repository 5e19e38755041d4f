//! opnsense client (to be written).
