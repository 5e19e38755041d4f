//! Defaults compiled into the binary, so `pipilu` runs with no files around it.

/// The ChatOps training data (`fixtures/nlu/train/*.yaml`), as (file name, text).
pub const TRAINING_DATA: &[(&str, &str)] = &[
    ("entities.yaml", include_str!("../../fixtures/nlu/train/entities.yaml")),
    ("health_check.yaml", include_str!("../../fixtures/nlu/train/health_check.yaml")),
    ("restart_service.yaml", include_str!("../../fixtures/nlu/train/restart_service.yaml")),
    ("query_logs.yaml", include_str!("../../fixtures/nlu/train/query_logs.yaml")),
    ("grafana_snapshot.yaml", include_str!("../../fixtures/nlu/train/grafana_snapshot.yaml")),
    ("firewall_status.yaml", include_str!("../../fixtures/nlu/train/firewall_status.yaml")),
    ("list_alerts.yaml", include_str!("../../fixtures/nlu/train/list_alerts.yaml")),
    ("ack_alert.yaml", include_str!("../../fixtures/nlu/train/ack_alert.yaml")),
    ("silence_alert.yaml", include_str!("../../fixtures/nlu/train/silence_alert.yaml")),
    ("resolve_incident.yaml", include_str!("../../fixtures/nlu/train/resolve_incident.yaml")),
    ("audit_query.yaml", include_str!("../../fixtures/nlu/train/audit_query.yaml")),
    ("help.yaml", include_str!("../../fixtures/nlu/train/help.yaml")),
    ("out_of_scope.yaml", include_str!("../../fixtures/nlu/train/out_of_scope.yaml")),
];
