//! cloudfoundry client (to be written).
