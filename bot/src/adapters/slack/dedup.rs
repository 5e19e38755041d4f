//! Slack retries an event it thinks was not delivered (`X-Slack-Retry-Num`, or a
//! Socket Mode envelope not acknowledged in time) with the same `event_id`; this
//! remembers the last ids seen so each event runs once.

use std::collections::{HashSet, VecDeque};
use std::sync::{Mutex, PoisonError};

/// A bounded set of recently seen event ids.
#[derive(Debug)]
pub struct Dedup {
    cap: usize,
    seen: Mutex<(HashSet<String>, VecDeque<String>)>,
}

impl Dedup {
    /// Remembers at most `cap` ids; the oldest are forgotten first.
    pub fn new(cap: usize) -> Self {
        Dedup { cap: cap.max(1), seen: Mutex::new((HashSet::new(), VecDeque::new())) }
    }

    /// True the first time an id is seen, false for a repeat.
    pub fn first(&self, id: &str) -> bool {
        let mut g = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        let (set, order) = &mut *g;
        if set.contains(id) {
            return false;
        }
        if order.len() >= self.cap
            && let Some(old) = order.pop_front()
        {
            set.remove(&old);
        }
        set.insert(id.to_string());
        order.push_back(id.to_string());
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeats_are_caught_and_old_ids_forgotten() {
        let d = Dedup::new(2);
        assert!(d.first("a"));
        assert!(!d.first("a"));
        assert!(d.first("b"));
        assert!(d.first("c"));
        assert!(d.first("a"));
        assert!(!d.first("c"));
    }
}
