//! Defaults compiled into the binary, so `pipilu` runs with no files around it.

/// The ChatOps training data (`fixtures/nlu/train/*.yaml`), as (file name, text).
pub const TRAINING_DATA: &[(&str, &str)] = &[
    ("ack_alert.yaml", include_str!("../../fixtures/nlu/train/ack_alert.yaml")),
    ("audit_query.yaml", include_str!("../../fixtures/nlu/train/audit_query.yaml")),
    ("entities.yaml", include_str!("../../fixtures/nlu/train/entities.yaml")),
    ("firewall_status.yaml", include_str!("../../fixtures/nlu/train/firewall_status.yaml")),
    ("grafana_snapshot.yaml", include_str!("../../fixtures/nlu/train/grafana_snapshot.yaml")),
    ("health_check.yaml", include_str!("../../fixtures/nlu/train/health_check.yaml")),
    ("help.yaml", include_str!("../../fixtures/nlu/train/help.yaml")),
    ("list_alerts.yaml", include_str!("../../fixtures/nlu/train/list_alerts.yaml")),
    ("out_of_scope.yaml", include_str!("../../fixtures/nlu/train/out_of_scope.yaml")),
    ("query_logs.yaml", include_str!("../../fixtures/nlu/train/query_logs.yaml")),
    ("resolve_incident.yaml", include_str!("../../fixtures/nlu/train/resolve_incident.yaml")),
    ("restart_service.yaml", include_str!("../../fixtures/nlu/train/restart_service.yaml")),
    ("silence_alert.yaml", include_str!("../../fixtures/nlu/train/silence_alert.yaml")),
];
