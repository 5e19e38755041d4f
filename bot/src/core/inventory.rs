//! The live inventory: service, dashboard and firewall names listed from the
//! backends and fed to the NLU gazetteer, so "restart latte" resolves against
//! what exists now rather than what the training data named.

use nlu::{Engine, Gazetteer};
use serde::Serialize;
use skills::Backends;
use std::collections::HashMap;

/// Names known to the backends, by kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Inventory {
    /// Service names.
    pub services: Vec<String>,
    /// Dashboard titles.
    pub dashboards: Vec<String>,
    /// Firewall names.
    pub firewalls: Vec<String>,
}

impl Inventory {
    /// The names of a gazetteer kind (`service`, `dashboard`, `firewall`); empty for others.
    pub fn names(&self, kind: &str) -> &[String] {
        match kind {
            "service" => &self.services,
            "dashboard" => &self.dashboards,
            "firewall" => &self.firewalls,
            _ => &[],
        }
    }
}

/// One kind as listed: canonical names with extra synonyms (a dashboard's uid), or the backend's error.
type Listed = Result<Vec<(String, Vec<String>)>, String>;

/// What a refresh found: the lists, and which backends failed (their kinds keep the old names).
#[derive(Debug, Default)]
pub struct Fetched {
    services: Option<Vec<(String, Vec<String>)>>,
    dashboards: Option<Vec<(String, Vec<String>)>>,
    firewalls: Option<Vec<(String, Vec<String>)>>,
    /// Backend failures, for the log.
    pub errors: Vec<String>,
}

fn keep(kind: &str, listed: Listed, errors: &mut Vec<String>) -> Option<Vec<(String, Vec<String>)>> {
    match listed {
        Ok(v) => Some(v),
        Err(e) => {
            errors.push(format!("listing {kind}s: {e}"));
            None
        }
    }
}

/// Longest wait for one backend's list: a slow backend keeps its old names
/// rather than holding up the others (or the start).
const LIST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// `listing` within [`LIST_TIMEOUT`].
async fn bounded<T, E: std::fmt::Display>(listing: impl Future<Output = Result<T, E>>) -> Result<T, String> {
    match tokio::time::timeout(LIST_TIMEOUT, listing).await {
        Ok(r) => r.map_err(|e| e.to_string()),
        Err(_) => Err(format!("no answer within {} s", LIST_TIMEOUT.as_secs())),
    }
}

/// Lists services, dashboards and firewalls from the backends, concurrently.
pub async fn fetch(backends: &Backends) -> Fetched {
    let (services, dashboards, firewalls) = tokio::join!(
        bounded(async { backends.services.list().await.map(plain) }),
        bounded(async {
            backends.graphs.dashboards().await.map(|ds| ds.into_iter().map(|d| (d.title, vec![d.uid])).collect())
        }),
        bounded(async { backends.firewalls.list().await.map(plain) }),
    );
    let mut errors = Vec::new();
    Fetched {
        services: keep("service", services, &mut errors),
        dashboards: keep("dashboard", dashboards, &mut errors),
        firewalls: keep("firewall", firewalls, &mut errors),
        errors,
    }
}

fn plain(names: Vec<String>) -> Vec<(String, Vec<String>)> {
    names.into_iter().map(|n| (n, Vec::new())).collect()
}

/// The gazetteer's key form of a name (case, '-', '_' and spaces ignored), to carry synonyms over.
fn key(name: &str) -> String {
    name.chars().filter(|c| !matches!(c, '-' | '_') && !c.is_whitespace()).flat_map(char::to_lowercase).collect()
}

/// Synonyms the gazetteer holds now for each canonical name of `kind` (from the training data's entity lists).
fn current_synonyms(gaz: &Gazetteer, kind: &str) -> HashMap<String, Vec<String>> {
    let Ok(serde_json::Value::Object(kinds)) = serde_json::to_value(gaz) else {
        return HashMap::new();
    };
    let Some(serde_json::Value::Array(entries)) = kinds.get(kind) else {
        return HashMap::new();
    };
    entries
        .iter()
        .filter_map(|e| {
            let canonical = e.get("canonical")?.as_str()?;
            let synonyms = e.get("synonyms")?.as_array()?.iter().filter_map(|s| s.as_str().map(String::from));
            Some((key(canonical), synonyms.collect()))
        })
        .collect()
}

/// Replaces the gazetteer's kinds with what was fetched, keeping known synonyms
/// ("lb" for loadbalancers) of names that still exist; returns the names now known.
pub fn apply(fetched: Fetched, engine: &mut Engine, previous: &Inventory) -> Inventory {
    let mut inventory = previous.clone();
    let kinds = [
        ("service", fetched.services, &mut inventory.services),
        ("dashboard", fetched.dashboards, &mut inventory.dashboards),
        ("firewall", fetched.firewalls, &mut inventory.firewalls),
    ];
    for (kind, listed, names) in kinds {
        let Some(listed) = listed else { continue };
        let old = current_synonyms(engine.gazetteer(), kind);
        let values: Vec<(String, Vec<String>)> = listed
            .into_iter()
            .filter(|(name, _)| !key(name).is_empty())
            .map(|(name, mut synonyms)| {
                synonyms.retain(|s| key(s) != key(&name));
                if let Some(more) = old.get(&key(&name)) {
                    synonyms.extend(more.iter().cloned());
                }
                (name, synonyms)
            })
            .collect();
        *names = values.iter().map(|(n, _)| n.clone()).collect();
        engine.gazetteer_mut().replace_kind(kind, values);
    }
    inventory
}
