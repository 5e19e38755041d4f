//! Real servers started for tests on 127.0.0.1 (Prometheus, Alertmanager from
//! Debian's packages). To be written.
