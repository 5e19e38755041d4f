//! The step between understanding and acting: decides, from the parse and the
//! skill's risk, whether to run, ask, or decline.
//!
//! The rules are data ([`Gate`] per [`Risk`] tier, phrase and question tables)
//! so later work can add roles and confirmations without touching the router.
//! The invariant: a skill that changes things never runs on a guess. It needs a
//! confident parse above the tier's confidence and names that match the
//! inventory exactly; anything less becomes a question with buttons, and a
//! click on one of those is the clicker's explicit choice.

use crate::core::action::{self, RunPayload};
use crate::core::inventory::Inventory;
use crate::core::request::{self, ENTITY_SLOTS};
use chrono::{DateTime, Utc};
use nlu::{Gazetteer, OUT_OF_SCOPE, Parse, Resolved, Slot, Verdict};
use serde::Serialize;
use skills::{Request, Risk};

/// A button offered with a question.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Choice {
    /// Label shown.
    pub label: String,
    /// Button action (see [`action`]).
    pub action: String,
    /// Button payload.
    pub payload: String,
}

/// What the core should do with a message.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Run the skill for `intent` with `request`; `notes` go in the card's footer (fuzzy name matches).
    Run {
        /// The skill's intent.
        intent: String,
        /// Resolved slots (boxed: the request is much larger than the other variants).
        request: Box<Request>,
        /// Things the user should know about how the sentence was read.
        notes: Vec<String>,
    },
    /// Ask which of a few readings was meant; each option is a button.
    Clarify {
        /// The question.
        question: String,
        /// The readings, as buttons.
        options: Vec<Choice>,
    },
    /// A required slot is missing: ask for it; the next message may answer.
    AskSlot {
        /// The intent waiting for the slot.
        intent: String,
        /// The missing slot.
        slot: String,
        /// The question.
        question: String,
        /// Known values, as buttons, when there are few.
        options: Vec<Choice>,
    },
    /// Do nothing, and say what the user can say instead.
    Decline {
        /// Why nothing happened.
        message: String,
        /// Example sentences.
        suggestions: Vec<String>,
    },
}

/// How a parse came about: typed, or a button we offered that the user clicked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// The user typed a sentence; the NLU's confidence counts.
    Typed,
    /// The user clicked a button: an explicit choice, but names are still checked.
    Clicked,
}

/// What the policy needs to know of a skill.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SkillInfo {
    /// Risk tier.
    pub risk: Risk,
    /// Slots without which it cannot run.
    pub required: &'static [&'static str],
}

/// What a risk tier requires before its skills run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Gate {
    /// Minimum intent confidence of a typed sentence (the verdict must also be confident).
    pub min_confidence: f32,
    /// Minimum gazetteer score of every name (service, dashboard, firewall); 1.0 means exact.
    pub min_name_score: f32,
    /// Names not in the inventory go to the skill, which answers "unknown" itself.
    pub unknown_names: bool,
}

/// The rules, per risk tier.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// Read-only skills.
    pub read: Gate,
    /// Skills that change state reversibly.
    pub change: Gate,
    /// Skills that are hard to undo.
    pub destructive: Gate,
}

impl Default for Policy {
    fn default() -> Self {
        let change = Gate { min_confidence: 0.8, min_name_score: 1.0, unknown_names: false };
        Policy {
            read: Gate { min_confidence: 0.0, min_name_score: 0.85, unknown_names: true },
            change,
            destructive: change,
        }
    }
}

/// Everything a decision reads besides the parse.
pub struct Context<'a> {
    /// Who asks.
    pub user: &'a str,
    /// The instant times are resolved against.
    pub now: DateTime<Utc>,
    /// The NLU's gazetteer (live inventory), for "did you mean".
    pub gazetteer: &'a Gazetteer,
    /// Known names, for example sentences and answer buttons.
    pub inventory: &'a Inventory,
    /// The skill serving an intent, if any.
    pub skills: &'a dyn Fn(&str) -> Option<SkillInfo>,
}

/// Lowest fuzzy score offered as "did you mean" (below what resolves automatically).
const SUGGEST_MIN: f32 = 0.6;
/// Most answer buttons for a missing slot.
const MAX_OPTIONS: usize = 6;

/// How each intent is described on a button: with a name (`{}`), and without one.
const PHRASES: &[(&str, &str, &str)] = &[
    ("health_check", "check {}'s health", "check a service's health"),
    ("restart_service", "restart {}", "restart a service"),
    ("query_logs", "show {} logs", "show logs"),
    ("grafana_snapshot", "graph {}", "graph a dashboard"),
    ("firewall_status", "show firewall {} status", "show firewall status"),
    ("help", "", "show what I can do"),
    ("list_alerts", "", "list alerts"),
    ("ack_alert", "acknowledge {}", "acknowledge an alert"),
    ("silence_alert", "silence {}", "silence alerts"),
    ("resolve_incident", "resolve incident {}", "resolve an incident"),
    ("audit_query", "", "search the audit log"),
];

/// The question for a missing slot, per intent (`*` = any intent).
const QUESTIONS: &[(&str, &str, &str)] = &[
    ("restart_service", "service", "Which service should I restart?"),
    ("health_check", "service", "Which service should I check?"),
    ("query_logs", "service", "Which service's logs should I show?"),
    ("grafana_snapshot", "dashboard", "Which dashboard should I graph?"),
    ("firewall_status", "firewall", "Which firewall?"),
    ("*", "service", "Which service?"),
    ("*", "incident", "Which incident or alert? (for example #1234)"),
    ("*", "duration", "For how long? (for example 2h)"),
    ("*", "dashboard", "Which dashboard?"),
];

/// The button label for running `intent` with `slots` ("restart latte").
pub fn describe(intent: &str, slots: &[Slot]) -> String {
    let name = slots
        .iter()
        .find(|s| matches!(s.name.as_str(), "service" | "dashboard" | "firewall" | "incident" | "matcher"))
        .map(|s| if s.name == "incident" { format!("#{}", s.value) } else { s.value.clone() });
    match (PHRASES.iter().find(|(i, _, _)| *i == intent), name) {
        (Some((_, with, _)), Some(name)) if !with.is_empty() => with.replace("{}", &name),
        (Some((_, _, without)), _) => (*without).to_string(),
        (None, _) => intent.replace('_', " "),
    }
}

/// The question asked for a missing slot.
pub fn question(intent: &str, slot: &str) -> String {
    QUESTIONS
        .iter()
        .find(|(i, s, _)| *i == intent && *s == slot)
        .or_else(|| QUESTIONS.iter().find(|(i, s, _)| *i == "*" && *s == slot))
        .map_or_else(|| format!("Which {}?", slot.replace('_', " ")), |(_, _, q)| (*q).to_string())
}

/// A `run` button for `intent` with these slots.
pub fn run_choice(intent: &str, slots: &[Slot]) -> Choice {
    let values = slots.iter().map(|s| (s.name.clone(), request::payload_value(s))).collect();
    Choice {
        label: capitalise(&describe(intent, slots)),
        action: action::RUN.to_string(),
        payload: RunPayload::new(intent, values).encode(),
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
}

/// `a`, `a or b`, `a, b or c` (with `conjunction` "or").
fn listed(items: &[String], conjunction: &str) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} {conjunction} {last}", rest.join(", ")),
    }
}

/// The first entity kind named more than once with different values
/// ("restart latte and payments"), with the names in text order.
fn several_names(slots: &[Slot]) -> Option<(&'static str, Vec<String>)> {
    ENTITY_SLOTS.iter().find_map(|kind| {
        let mut names: Vec<String> = Vec::new();
        for s in slots.iter().filter(|s| s.name == *kind) {
            if !names.contains(&s.value) {
                names.push(s.value.clone());
            }
        }
        (names.len() > 1).then_some((*kind, names))
    })
}

/// A change named for several services (dashboards, firewalls) is run for one
/// at a time, each by its own button: the bot never picks one of them itself.
fn one_at_a_time(parse: &Parse, kind: &str, names: &[String], cue: Option<&nlu::Cue>) -> Decision {
    let mut options: Vec<Choice> = names
        .iter()
        .map(|name| {
            let slots: Vec<Slot> = parse.slots.iter().filter(|s| s.name != kind || s.value == *name).cloned().collect();
            run_choice(&parse.intent, &slots)
        })
        .collect();
    options.push(Choice { label: "No".into(), action: action::CANCEL.into(), payload: String::new() });
    let why = cue.map(|c| format!("You wrote '{}', so I won't act on my own. ", c.raw)).unwrap_or_default();
    Decision::Clarify {
        question: format!("{why}You named {}; I act on one {kind} at a time. Which one?", listed(names, "and")),
        options,
    }
}

/// The slots with one slot's value replaced by a known name (exact).
fn with_name(slots: &[Slot], slot: &Slot, canonical: &str) -> Vec<Slot> {
    slots
        .iter()
        .map(|s| {
            if s.span == slot.span && s.name == slot.name {
                Slot {
                    value: canonical.to_string(),
                    resolved: Some(Resolved::Entity { canonical: canonical.to_string(), score: 1.0 }),
                    ..s.clone()
                }
            } else {
                s.clone()
            }
        })
        .collect()
}

impl Policy {
    /// The gate of a risk tier.
    pub fn gate(&self, risk: Risk) -> Gate {
        match risk {
            Risk::Read => self.read,
            Risk::Change => self.change,
            Risk::Destructive => self.destructive,
        }
    }

    /// Decides what to do with a parse.
    pub fn decide(&self, parse: &Parse, origin: Origin, cx: &Context) -> Decision {
        if parse.verdict == Verdict::OutOfScope || parse.intent == OUT_OF_SCOPE {
            return self.decline("Sorry, I'm not sure what you mean, so I did nothing.", cx);
        }
        let Some(skill) = (cx.skills)(&parse.intent) else {
            return self.decline(&format!("I can't {} yet, so I did nothing.", describe(&parse.intent, &[])), cx);
        };
        // "unsilence HighCPU", "取消重启 latte": a change's words, asking for its
        // opposite, which no skill does; offering the change itself would be wrong.
        if let Some(c) = parse.cues.iter().find(|c| c.kind == nlu::CueKind::Reversal)
            && skill.risk != Risk::Read
        {
            let message = format!(
                "You wrote '{}', and I can't undo or call off an action from chat yet, so I did nothing.",
                c.raw
            );
            return self.decline(&message, cx);
        }
        if parse.verdict == Verdict::Ambiguous && origin == Origin::Typed {
            return self.clarify_ambiguous(parse, cx);
        }
        let gate = self.gate(skill.risk);
        if let Some(missing) = skill.required.iter().find(|r| parse.slot(r).is_none_or(|s| s.value.trim().is_empty())) {
            return self.ask_slot(&parse.intent, missing, &parse.slots, cx);
        }
        let mut notes = Vec::new();
        for slot in parse.slots.iter().filter(|s| ENTITY_SLOTS.contains(&s.name.as_str())) {
            match &slot.resolved {
                Some(Resolved::Entity { canonical, score }) if *score >= gate.min_name_score => {
                    if *score < 1.0 {
                        notes.push(format!("read '{}' as {canonical} ({score:.2})", slot.raw));
                    }
                }
                Some(Resolved::Entity { canonical, .. }) => {
                    return self.did_you_mean(parse, slot, std::slice::from_ref(canonical));
                }
                _ if gate.unknown_names => {}
                _ => {
                    let names: Vec<String> = cx
                        .gazetteer
                        .suggest(&slot.name, &slot.raw, SUGGEST_MIN, 3)
                        .into_iter()
                        .map(|m| m.canonical)
                        .collect();
                    if names.is_empty() {
                        return self.decline(
                            &format!("I don't know a {} called '{}', so I did nothing.", slot.name, slot.raw),
                            cx,
                        );
                    }
                    return self.did_you_mean(parse, slot, &names);
                }
            }
        }
        // A message longer than the NLU reads was cut: the unread rest may change its meaning.
        let cut = parse.truncated && skill.risk != Risk::Read;
        // "don't restart latte", "check or restart latte": a change's intent,
        // but maybe not a request for it.
        let cue = parse.cues.first().filter(|_| skill.risk != Risk::Read);
        // A skill takes one name of a kind: the others must not be dropped unsaid.
        if let Some((kind, names)) = several_names(&parse.slots) {
            if skill.risk == Risk::Read {
                notes.push(format!("only {} is shown; ask again for {}", names[0], listed(&names[1..], "and")));
            } else {
                return one_at_a_time(parse, kind, &names, cue);
            }
        }
        if origin == Origin::Typed && (parse.confidence < gate.min_confidence || cut || cue.is_some()) {
            let no = Choice { label: "No".into(), action: action::CANCEL.into(), payload: String::new() };
            let ask = format!("Do you want me to {}?", describe(&parse.intent, &parse.slots));
            return Decision::Clarify {
                question: match cue {
                    Some(cue) => format!("You wrote '{}', so I won't act on my own. {ask}", cue.raw),
                    None => ask,
                },
                options: vec![run_choice(&parse.intent, &parse.slots), no],
            };
        }
        Decision::Run {
            intent: parse.intent.clone(),
            request: Box::new(request::from_slots(&parse.slots, cx.user, cx.now)),
            notes,
        }
    }

    /// Example sentences that work with the current inventory.
    pub fn examples(inventory: &Inventory) -> Vec<String> {
        let service = inventory.services.first().map_or("<service>", String::as_str);
        let dashboard = inventory.dashboards.first().map_or("<dashboard>", String::as_str);
        vec![
            format!("is {service} ok?"),
            format!("show {service} errors from the last 15 min"),
            format!("graph {dashboard} last 30m"),
            "firewall status".to_string(),
        ]
    }

    fn decline(&self, message: &str, cx: &Context) -> Decision {
        Decision::Decline { message: message.to_string(), suggestions: Self::examples(cx.inventory) }
    }

    fn clarify_ambiguous(&self, parse: &Parse, cx: &Context) -> Decision {
        let mut intents: Vec<&str> = vec![parse.intent.as_str()];
        for alt in &parse.alternatives {
            if alt.intent != OUT_OF_SCOPE && !intents.contains(&alt.intent.as_str()) {
                intents.push(&alt.intent);
            }
        }
        let options: Vec<Choice> = intents
            .into_iter()
            .filter(|i| (cx.skills)(i).is_some())
            .take(3)
            .map(|i| run_choice(i, &parse.slots))
            .collect();
        if options.is_empty() {
            return self.decline("Sorry, I'm not sure what you mean, so I did nothing.", cx);
        }
        let labels: Vec<String> = options.iter().map(|o| o.label.to_lowercase()).collect();
        Decision::Clarify { question: format!("Did you mean: {}?", labels.join(" / ")), options }
    }

    fn did_you_mean(&self, parse: &Parse, slot: &Slot, names: &[String]) -> Decision {
        let options =
            names.iter().map(|n| run_choice(&parse.intent, &with_name(&parse.slots, slot, n))).collect::<Vec<_>>();
        Decision::Clarify {
            question: format!(
                "I don't know a {} called '{}'. Did you mean {}?",
                slot.name,
                slot.raw,
                listed(names, "or")
            ),
            options,
        }
    }

    /// Asks for a missing slot, offering the known names as buttons when there are few.
    pub fn ask_slot(&self, intent: &str, slot: &str, slots: &[Slot], cx: &Context) -> Decision {
        let names = cx.inventory.names(slot);
        let options = if names.len() <= MAX_OPTIONS {
            names
                .iter()
                .map(|n| {
                    let mut with = slots.to_vec();
                    with.push(Slot {
                        name: slot.to_string(),
                        raw: n.clone(),
                        span: (0, 0),
                        value: n.clone(),
                        resolved: Some(Resolved::Entity { canonical: n.clone(), score: 1.0 }),
                    });
                    Choice { label: n.clone(), ..run_choice(intent, &with) }
                })
                .collect()
        } else {
            Vec::new()
        };
        Decision::AskSlot {
            intent: intent.to_string(),
            slot: slot.to_string(),
            question: question(intent, slot),
            options,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nlu::Scored;

    fn gaz() -> Gazetteer {
        let mut g = Gazetteer::new();
        for s in ["latte", "payments-api", "auth"] {
            g.insert("service", s, &[]);
        }
        g
    }

    fn inventory() -> Inventory {
        Inventory { services: vec!["latte".into(), "auth".into()], dashboards: vec![], firewalls: vec![] }
    }

    fn skills(intent: &str) -> Option<SkillInfo> {
        match intent {
            "restart_service" => Some(SkillInfo { risk: Risk::Change, required: &["service"] }),
            "wipe_disk" => Some(SkillInfo { risk: Risk::Destructive, required: &["service"] }),
            "health_check" => Some(SkillInfo { risk: Risk::Read, required: &["service"] }),
            "help" => Some(SkillInfo { risk: Risk::Read, required: &[] }),
            _ => None,
        }
    }

    fn service(raw: &str, g: &Gazetteer) -> Slot {
        let mut s = request::slot_from_value("service", raw, g, Utc::now());
        s.span = (8, 8 + raw.len());
        s
    }

    fn parse(intent: &str, confidence: f32, verdict: Verdict, slots: Vec<Slot>) -> Parse {
        Parse {
            text: String::new(),
            intent: intent.into(),
            confidence,
            verdict,
            alternatives: vec![Scored { intent: "health_check".into(), confidence: 0.3 }],
            slots,
            layers: vec!["lexical"],
            truncated: false,
            cues: vec![],
        }
    }

    fn decide(p: &Parse, origin: Origin) -> Decision {
        let g = gaz();
        let inv = inventory();
        let cx = Context { user: "op", now: Utc::now(), gazetteer: &g, inventory: &inv, skills: &skills };
        Policy::default().decide(p, origin, &cx)
    }

    #[test]
    fn confident_exact_restart_runs() {
        let g = gaz();
        let d = decide(&parse("restart_service", 0.97, Verdict::Confident, vec![service("latte", &g)]), Origin::Typed);
        let Decision::Run { intent, request, notes } = d else { panic!("{d:?}") };
        assert_eq!(intent, "restart_service");
        assert_eq!(request.service.as_deref(), Some("latte"));
        assert!(notes.is_empty());
    }

    #[test]
    fn risky_skills_never_run_on_a_guess() {
        let g = gaz();
        for intent in ["restart_service", "wipe_disk"] {
            let cases = [
                parse(intent, 0.97, Verdict::Ambiguous, vec![service("latte", &g)]),
                parse(intent, 0.5, Verdict::OutOfScope, vec![service("latte", &g)]),
                parse(intent, 0.7, Verdict::Confident, vec![service("latte", &g)]),
                parse(intent, 0.97, Verdict::Confident, vec![service("latet", &g)]),
                parse(intent, 0.97, Verdict::Confident, vec![service("pizza", &g)]),
                parse(intent, 0.97, Verdict::Confident, vec![]),
                Parse { truncated: true, ..parse(intent, 0.99, Verdict::Confident, vec![service("latte", &g)]) },
            ];
            for p in &cases {
                let d = decide(p, Origin::Typed);
                assert!(!matches!(d, Decision::Run { .. }), "{intent} ran on {p:?}");
            }
        }
    }

    #[test]
    fn a_negated_questioned_or_alternative_change_is_asked_not_run() {
        let g = gaz();
        let cue = |kind, raw: &str| nlu::Cue { kind, raw: raw.into(), span: (0, raw.len()) };
        for c in [
            cue(nlu::CueKind::Negation, "don't"),
            cue(nlu::CueKind::Alternative, "or"),
            cue(nlu::CueKind::Question, "should I"),
        ] {
            let p = Parse {
                cues: vec![c.clone()],
                ..parse("restart_service", 0.99, Verdict::Confident, vec![service("latte", &g)])
            };
            let Decision::Clarify { question, options } = decide(&p, Origin::Typed) else { panic!("ran on {p:?}") };
            assert!(question.contains(&format!("'{}'", c.raw)), "{question}");
            assert_eq!(options[0].label, "Restart latte");
            // The button is the user's explicit choice: it runs.
            assert!(matches!(decide(&p, Origin::Clicked), Decision::Run { .. }));
            // A read-only skill is not held up by the same words.
            let read = Parse { intent: "health_check".into(), ..p };
            assert!(matches!(decide(&read, Origin::Typed), Decision::Run { .. }));
        }
    }

    #[test]
    fn a_reversed_change_is_declined_without_offering_the_change() {
        let g = gaz();
        for raw in ["undo", "取消"] {
            let p = Parse {
                cues: vec![nlu::Cue { kind: nlu::CueKind::Reversal, raw: raw.into(), span: (0, raw.len()) }],
                ..parse("restart_service", 0.99, Verdict::Confident, vec![service("latte", &g)])
            };
            for origin in [Origin::Typed, Origin::Clicked] {
                let d = decide(&p, origin);
                assert!(
                    matches!(d, Decision::Decline { ref message, .. } if message.contains(&format!("'{raw}'"))),
                    "{raw}: {d:?}"
                );
            }
        }
    }

    #[test]
    fn a_change_to_several_services_offers_one_button_each() {
        let g = gaz();
        let two = vec![service("latte", &g), service("payments-api", &g)];
        for origin in [Origin::Typed, Origin::Clicked] {
            let d = decide(&parse("restart_service", 0.99, Verdict::Confident, two.clone()), origin);
            let Decision::Clarify { question, options } = d else { panic!("ran on two services: {d:?}") };
            assert_eq!(question, "You named latte and payments-api; I act on one service at a time. Which one?");
            let labels: Vec<&str> = options.iter().map(|o| o.label.as_str()).collect();
            assert_eq!(labels, ["Restart latte", "Restart payments-api", "No"]);
            assert_eq!(options[1].payload, "restart_service?service=payments-api");
        }
        // The same name twice is one service.
        let same = vec![service("latte", &g), service("latte", &g)];
        let d = decide(&parse("restart_service", 0.99, Verdict::Confident, same), Origin::Typed);
        assert!(matches!(d, Decision::Run { .. }), "{d:?}");
        // A read runs for the first and says what it left.
        let d = decide(&parse("health_check", 0.99, Verdict::Confident, two), Origin::Typed);
        let Decision::Run { request, notes, .. } = d else { panic!("{d:?}") };
        assert_eq!(request.service.as_deref(), Some("latte"));
        assert_eq!(notes, ["only latte is shown; ask again for payments-api"]);
    }

    #[test]
    fn fuzzy_service_for_restart_asks_with_a_button() {
        let g = gaz();
        let d = decide(&parse("restart_service", 0.99, Verdict::Confident, vec![service("latet", &g)]), Origin::Typed);
        let Decision::Clarify { question, options } = d else { panic!("{d:?}") };
        assert_eq!(question, "I don't know a service called 'latet'. Did you mean latte?");
        assert_eq!(options.len(), 1);
        assert_eq!(options[0].label, "Restart latte");
        assert_eq!(options[0].action, "run");
        assert_eq!(options[0].payload, "restart_service?service=latte");
    }

    #[test]
    fn clicked_exact_restart_runs_but_clicked_unknown_does_not() {
        let g = gaz();
        let p = parse("restart_service", 1.0, Verdict::Confident, vec![service("latte", &g)]);
        assert!(matches!(decide(&p, Origin::Clicked), Decision::Run { .. }));
        let p = parse("restart_service", 1.0, Verdict::Confident, vec![service("lattee", &g)]);
        assert!(matches!(decide(&p, Origin::Clicked), Decision::Clarify { .. }));
    }

    #[test]
    fn read_skill_runs_on_close_fuzzy_match_and_says_so() {
        let g = gaz();
        let d = decide(&parse("health_check", 0.95, Verdict::Confident, vec![service("latet", &g)]), Origin::Typed);
        let Decision::Run { request, notes, .. } = d else { panic!("{d:?}") };
        assert_eq!(request.service.as_deref(), Some("latte"));
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(notes[0].contains("'latet' as latte"));
    }

    #[test]
    fn out_of_scope_declines_with_examples() {
        let d = decide(&parse(OUT_OF_SCOPE, 0.1, Verdict::OutOfScope, vec![]), Origin::Typed);
        let Decision::Decline { suggestions, .. } = d else { panic!("{d:?}") };
        assert!((3..=4).contains(&suggestions.len()));
        assert_eq!(suggestions[0], "is latte ok?");
    }

    #[test]
    fn ambiguous_offers_the_alternatives() {
        let g = gaz();
        let d = decide(&parse("restart_service", 0.5, Verdict::Ambiguous, vec![service("latte", &g)]), Origin::Typed);
        let Decision::Clarify { question, options } = d else { panic!("{d:?}") };
        assert_eq!(question, "Did you mean: restart latte / check latte's health?");
        assert_eq!(options.len(), 2);
        assert_eq!(options[1].payload, "health_check?service=latte");
    }

    #[test]
    fn missing_service_is_asked_with_known_names() {
        let d = decide(&parse("restart_service", 0.95, Verdict::Confident, vec![]), Origin::Typed);
        let Decision::AskSlot { slot, question, options, .. } = d else { panic!("{d:?}") };
        assert_eq!(slot, "service");
        assert_eq!(question, "Which service should I restart?");
        assert_eq!(options.iter().map(|o| o.label.as_str()).collect::<Vec<_>>(), ["latte", "auth"]);
        assert_eq!(options[0].payload, "restart_service?service=latte");
    }

    #[test]
    fn low_confidence_restart_asks_to_confirm() {
        let g = gaz();
        let d = decide(&parse("restart_service", 0.7, Verdict::Confident, vec![service("latte", &g)]), Origin::Typed);
        let Decision::Clarify { question, options } = d else { panic!("{d:?}") };
        assert_eq!(question, "Do you want me to restart latte?");
        assert_eq!(options[0].payload, "restart_service?service=latte");
    }

    #[test]
    fn unknown_service_without_suggestion_declines_restart() {
        let g = gaz();
        let d = decide(&parse("restart_service", 0.99, Verdict::Confident, vec![service("zzzzzz", &g)]), Origin::Typed);
        assert!(matches!(d, Decision::Decline { ref message, .. } if message.contains("'zzzzzz'")), "{d:?}");
    }
}
