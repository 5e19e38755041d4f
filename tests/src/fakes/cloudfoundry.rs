//! Fake cloudfoundry API (to be written).
