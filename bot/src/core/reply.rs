//! What the core answers: cards, and what happened (for adapters, logs and tests).
//! Also the cards the core makes itself: questions, declines and errors.

use crate::core::action::{self, RunPayload};
use crate::core::policy::Choice;
use serde::Serialize;
use skills::{ButtonStyle, Card, SkillError, Status};

/// What the core did with a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Outcome {
    /// A skill ran and answered.
    Ran {
        /// Its intent.
        intent: String,
    },
    /// A skill ran and failed; the card says why.
    Failed {
        /// Its intent.
        intent: String,
    },
    /// The core asked which reading was meant.
    Clarified,
    /// The core asked for a missing slot.
    AskedSlot {
        /// The slot.
        slot: String,
    },
    /// The core did nothing and said what works.
    Declined,
}

/// The answer to one message: one or more cards.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reply {
    /// What happened.
    pub outcome: Outcome,
    /// Cards, in order.
    pub cards: Vec<Card>,
}

impl Reply {
    /// A reply of one card.
    pub fn one(outcome: Outcome, card: Card) -> Self {
        Reply { outcome, cards: vec![card] }
    }

    /// True when a skill ran (successfully or not).
    pub fn ran_skill(&self) -> bool {
        matches!(self.outcome, Outcome::Ran { .. } | Outcome::Failed { .. })
    }
}

fn with_choices(mut card: Card, options: &[Choice]) -> Card {
    for o in options {
        let style = if o.action == action::CANCEL { ButtonStyle::Default } else { ButtonStyle::Primary };
        card = card.button(o.label.clone(), &o.action, o.payload.clone(), style);
    }
    card
}

/// A question with buttons (which reading, did you mean, confirm).
pub fn clarify_card(question: &str, options: &[Choice]) -> Card {
    with_choices(Card::new(question, Status::Unknown), options).footer("Nothing was done. Pick one, or rephrase.")
}

/// A question for a missing slot; the next message may answer it.
pub fn ask_slot_card(question: &str, options: &[Choice]) -> Card {
    with_choices(Card::new(question, Status::Unknown), options).footer("Answer with a name, or say something else.")
}

/// Nothing done; what the user can say instead. The examples are buttons that say them.
pub fn decline_card(message: &str, suggestions: &[String]) -> Card {
    let mut card = Card::new(message, Status::Unknown).text("Try something like:");
    for s in suggestions {
        card = card.button(s.clone(), action::SAY, s.clone(), ButtonStyle::Default);
    }
    card
}

/// Something failed inside pipilu itself (a skill panicked, a lock broke).
pub fn internal_error_card(what: &str) -> Card {
    Card::new("Something went wrong inside pipilu", Status::Critical)
        .text(format!("{what}. Nothing else was done; the details are in the log."))
}

/// The card for a skill's error: names the backend and the cause, or offers the names it knows.
///
/// `retry` rebuilds the request with a name replaced, for "did you mean" buttons.
pub fn skill_error_card(intent: &str, err: &SkillError, retry: &dyn Fn(&str) -> Option<RunPayload>) -> Card {
    match err {
        SkillError::Unknown { kind, name, suggestions } => {
            let mut title = format!("I don't know a {kind} called '{name}'.");
            let shown: Vec<&String> = suggestions.iter().take(3).collect();
            if !shown.is_empty() {
                let names: Vec<&str> = shown.iter().map(|s| s.as_str()).collect();
                let list = match names.as_slice() {
                    [one] => (*one).to_string(),
                    [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
                    [] => String::new(),
                };
                title.push_str(&format!(" Did you mean {list}?"));
            }
            let mut card = Card::new(title, Status::Warning);
            for s in shown {
                if let Some(p) = retry(s) {
                    card = card.button(s.clone(), action::RUN, p.encode(), ButtonStyle::Primary);
                }
            }
            card
        }
        SkillError::Missing(slot) => Card::new(crate::core::policy::question(intent, slot), Status::Unknown),
        SkillError::Backend { backend, call, cause } => Card::new(format!("{backend} failed"), Status::Critical)
            .field("Backend", backend.clone())
            .field("Call", call.clone())
            .field("Cause", cause.clone())
            .footer("Nothing was retried."),
        SkillError::NotConfigured(what) => Card::new(format!("{what} is not configured yet"), Status::Unknown)
            .text("pipilu understood the request, but no backend for it is set up. Nothing was done."),
    }
}

/// Appends a note to a card's footer.
pub fn add_footer_note(card: &mut Card, note: &str) {
    card.footer = Some(match card.footer.take() {
        Some(f) if !f.is_empty() => format!("{f} · {note}"),
        _ => note.to_string(),
    });
}
