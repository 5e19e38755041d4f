//! Who may talk to pipilu on Slack: `[slack] users` maps Slack user ids to pipilu
//! users, and `user_groups` lets every member of a Slack user group in under the
//! group's name. Group members are fetched with `usergroups.users.list` and kept
//! for a minute. Anyone else is refused and nothing runs.

use super::api::Api;
use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// How long fetched group members are trusted.
const MEMBERS_TTL: Duration = Duration::from_secs(60);

/// Slack users to pipilu users.
#[derive(Debug)]
pub struct Identity {
    users: BTreeMap<String, String>,
    groups: BTreeMap<String, String>,
    members: Mutex<Option<(Instant, HashMap<String, String>)>>,
}

impl Identity {
    /// From `[slack] users` and `user_groups`.
    pub fn new(users: BTreeMap<String, String>, groups: BTreeMap<String, String>) -> Self {
        Identity { users, groups, members: Mutex::new(None) }
    }

    /// The pipilu user a Slack user is, if any.
    pub async fn resolve(&self, api: &Api, slack_user: &str) -> Option<String> {
        if let Some(u) = self.users.get(slack_user) {
            return Some(u.clone());
        }
        if self.groups.is_empty() {
            return None;
        }
        let mut cached = self.members.lock().await;
        let fresh = cached.as_ref().is_some_and(|(at, _)| at.elapsed() < MEMBERS_TTL);
        if !fresh {
            let mut members = HashMap::new();
            let mut failed = false;
            for (group, name) in &self.groups {
                match api.group_members(group).await {
                    Ok(list) => {
                        for m in list {
                            members.entry(m).or_insert_with(|| name.clone());
                        }
                    }
                    Err(e) => {
                        tracing::warn!("slack: members of {group}: {e}");
                        failed = true;
                    }
                }
            }
            if !failed || cached.is_none() {
                *cached = Some((Instant::now(), members));
            }
        }
        cached.as_ref().and_then(|(_, m)| m.get(slack_user).cloned())
    }
}
