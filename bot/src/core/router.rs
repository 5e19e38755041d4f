//! The core: one message in, one [`Reply`] out. Normalise, parse, decide, run.

use crate::core::action::{self, RunPayload};
use crate::core::inbound::{Content, Inbound};
use crate::core::inventory::{self, Inventory};
use crate::core::normalise::{self, normalise};
use crate::core::policy::{self, Context, Decision, Origin, Policy, SkillInfo};
use crate::core::reply::{self, Outcome, Reply};
use crate::core::request;
use chrono::{DateTime, Utc};
use nlu::{Engine, Parse, Slot, Verdict};
use skills::backends::Progress;
use skills::{Backends, Card, Request, Skill, SkillError, Status};
use std::collections::HashMap;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError, RwLock, RwLockReadGuard};
use std::task::{Context as TaskContext, Poll};
use std::time::{Duration, Instant};

/// How long a skill may take before the user is told it timed out.
pub const SKILL_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a question for a missing slot waits for its answer.
const PENDING_TTL: Duration = Duration::from_secs(600);
/// Most open questions kept (one per conversation and user).
const MAX_PENDING: usize = 10_000;
/// Longest answer taken as a slot value (in words).
const MAX_ANSWER_WORDS: usize = 3;

/// A question for a missing slot, waiting for the next message of the same user in the same conversation.
#[derive(Debug, Clone)]
struct Pending {
    parse: Parse,
    slot: String,
    origin: Origin,
    at: Instant,
}

/// The bot's core: the shared NLU engine, the skills, their backends and the policy.
pub struct Core {
    engine: Arc<RwLock<Engine>>,
    skills: HashMap<&'static str, Arc<dyn Skill>>,
    backends: Backends,
    policy: Policy,
    inventory: RwLock<Inventory>,
    pending: Mutex<HashMap<String, Pending>>,
    skill_timeout: Duration,
}

impl std::fmt::Debug for Core {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut intents: Vec<&&str> = self.skills.keys().collect();
        intents.sort();
        f.debug_struct("Core").field("skills", &intents).field("policy", &self.policy).finish_non_exhaustive()
    }
}

fn read<T>(lock: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(PoisonError::into_inner)
}

impl Core {
    /// A core over an engine, the skills (one per intent; a later one replaces an earlier) and their backends.
    pub fn new(engine: Engine, skills: Vec<Box<dyn Skill>>, backends: Backends, policy: Policy) -> Self {
        Core {
            engine: Arc::new(RwLock::new(engine)),
            skills: skills.into_iter().map(|s| (s.intent(), Arc::from(s))).collect(),
            backends,
            policy,
            inventory: RwLock::new(Inventory::default()),
            pending: Mutex::new(HashMap::new()),
            skill_timeout: SKILL_TIMEOUT,
        }
    }

    /// Sets how long a skill may run.
    pub fn with_skill_timeout(mut self, timeout: Duration) -> Self {
        self.skill_timeout = timeout;
        self
    }

    /// The shared engine (read for parsing; written only by inventory refreshes).
    pub fn engine(&self) -> &Arc<RwLock<Engine>> {
        &self.engine
    }

    /// The names known from the last inventory refresh.
    pub fn inventory(&self) -> Inventory {
        read(&self.inventory).clone()
    }

    /// Lists services, dashboards and firewalls from the backends and feeds them to the
    /// gazetteer. A backend that fails keeps its old names; its error is returned for the log.
    pub async fn refresh_inventory(&self) -> Vec<String> {
        let fetched = inventory::fetch(&self.backends).await;
        let errors = fetched.errors.clone();
        let previous = self.inventory();
        let next = {
            let mut engine = self.engine.write().unwrap_or_else(PoisonError::into_inner);
            inventory::apply(fetched, &mut engine, &previous)
        };
        tracing::debug!(
            services = next.services.len(),
            dashboards = next.dashboards.len(),
            firewalls = next.firewalls.len(),
            "inventory refreshed"
        );
        *self.inventory.write().unwrap_or_else(PoisonError::into_inner) = next;
        errors
    }

    fn skill_info(&self, intent: &str) -> Option<SkillInfo> {
        self.skills.get(intent).map(|s| SkillInfo { risk: s.risk(), required: s.required_slots() })
    }

    /// Answers one message. Never panics; anything unexpected becomes an error card.
    pub async fn handle(&self, inbound: Inbound) -> Reply {
        self.handle_with_progress(inbound, &Progress::none()).await
    }

    /// Like [`Core::handle`], with the steps of a long action (a restart following
    /// its rollout) sent to `progress`, so an adapter can update its message in place.
    pub async fn handle_with_progress(&self, inbound: Inbound, progress: &Progress) -> Reply {
        let now = Utc::now();
        let (conversation, user) = (normalise::cut(&inbound.conversation, 256), normalise::cut(&inbound.user, 256));
        let key = format!("{:?}\u{1f}{conversation}\u{1f}{user}", inbound.platform);
        let reply = match &inbound.content {
            Content::Text(text) => self.handle_text(&key, &inbound.user, text, now, progress).await,
            Content::Action { action, payload } => {
                self.handle_action(&key, &inbound.user, action, payload, now, progress).await
            }
        };
        tracing::info!(platform = ?inbound.platform, user = %inbound.user, outcome = ?reply.outcome, "handled");
        reply
    }

    async fn handle_text(&self, key: &str, user: &str, text: &str, now: DateTime<Utc>, progress: &Progress) -> Reply {
        let cut = text.len() > normalise::MAX_MESSAGE_BYTES;
        let text = normalise(text);
        let pending = self.take_pending(key);
        if text.is_empty() {
            let suggestions = Policy::examples(&read(&self.inventory));
            return Reply::one(Outcome::Declined, reply::decline_card("Say something, for example:", &suggestions));
        }
        if pending.is_some() && is_cancel(&text) {
            return Reply::one(Outcome::Declined, Card::new("OK, I did nothing.", Status::Unknown));
        }
        match self.understand(text, pending, now).await {
            Ok((mut parse, origin)) => {
                parse.truncated |= cut;
                self.act(parse, origin, key, user, now, progress).await
            }
            Err(reply) => reply,
        }
    }

    /// Parses the text, or takes it as the answer to an open question. The neural
    /// layer takes milliseconds of CPU, so a neural engine parses on a blocking thread.
    async fn understand(
        &self,
        text: String,
        pending: Option<Pending>,
        now: DateTime<Utc>,
    ) -> Result<(Parse, Origin), Reply> {
        if !read(&self.engine).has_neural() {
            return understand(&self.engine, &text, pending, now);
        }
        let engine = Arc::clone(&self.engine);
        tokio::task::spawn_blocking(move || understand(&engine, &text, pending, now)).await.unwrap_or_else(|e| {
            tracing::error!(error = %e, "the NLU task failed");
            Err(Reply::one(Outcome::Declined, reply::internal_error_card("The language engine failed on that message")))
        })
    }

    async fn handle_action(
        &self,
        key: &str,
        user: &str,
        act: &str,
        payload: &str,
        now: DateTime<Utc>,
        progress: &Progress,
    ) -> Reply {
        if act.trim() == action::SAY {
            // Uncut: the NLU flags a message too long to read whole, and the policy acts on that.
            return Box::pin(self.handle_text(key, user, payload, now, progress)).await;
        }
        let payload = normalise::cut(payload, action::MAX_PAYLOAD_BYTES);
        match act.trim() {
            action::CANCEL => {
                self.take_pending(key);
                Reply::one(Outcome::Declined, Card::new("OK, I did nothing.", Status::Unknown))
            }
            action::RUN => match RunPayload::decode(payload.trim()) {
                Some(p) => self.clicked(&p.intent, &p.slots, key, user, now, progress).await,
                None => self.unknown_button(act),
            },
            other => match action::shortcut(other) {
                Some((intent, slot)) => {
                    let value = normalise(payload);
                    let mut slots = Vec::new();
                    // `name@env`: the card's environment travels with the click, so the
                    // Restart button of a staging card restarts staging, not prod.
                    match value.split_once('@') {
                        Some((name, env)) if !name.is_empty() && !env.is_empty() => {
                            slots.push((slot.to_string(), name.to_string()));
                            slots.push(("env".to_string(), env.to_string()));
                        }
                        _ if !value.is_empty() => slots.push((slot.to_string(), value)),
                        _ => {}
                    }
                    self.clicked(intent, &slots, key, user, now, progress).await
                }
                None => self.unknown_button(act),
            },
        }
    }

    fn unknown_button(&self, act: &str) -> Reply {
        let suggestions = Policy::examples(&read(&self.inventory));
        let msg = format!("I don't know the button '{}', so I did nothing.", normalise::quote(act, 40));
        Reply::one(Outcome::Declined, reply::decline_card(&msg, &suggestions))
    }

    /// A button click: an explicit choice of intent and values, still checked by the policy.
    async fn clicked(
        &self,
        intent: &str,
        values: &[(String, String)],
        key: &str,
        user: &str,
        now: DateTime<Utc>,
        progress: &Progress,
    ) -> Reply {
        let slots = {
            let engine = read(&self.engine);
            values
                .iter()
                .map(|(name, value)| request::slot_from_value(name, &normalise(value), engine.gazetteer(), now))
                .collect()
        };
        let parse = Parse {
            text: String::new(),
            intent: intent.to_string(),
            confidence: 1.0,
            verdict: Verdict::Confident,
            alternatives: Vec::new(),
            slots,
            layers: Vec::new(),
            truncated: false,
            cues: Vec::new(),
        };
        self.act(parse, Origin::Clicked, key, user, now, progress).await
    }

    /// Asks the policy, then runs, asks or declines.
    async fn act(
        &self,
        parse: Parse,
        origin: Origin,
        key: &str,
        user: &str,
        now: DateTime<Utc>,
        progress: &Progress,
    ) -> Reply {
        let decision = {
            let engine = read(&self.engine);
            let inventory = read(&self.inventory);
            let skills = |intent: &str| self.skill_info(intent);
            let cx = Context { user, now, gazetteer: engine.gazetteer(), inventory: &inventory, skills: &skills };
            catch_unwind(AssertUnwindSafe(|| self.policy.decide(&parse, origin, &cx)))
        };
        let Ok(decision) = decision else {
            tracing::error!(intent = %parse.intent, "the policy panicked");
            return Reply::one(Outcome::Declined, reply::internal_error_card("Deciding what to do failed"));
        };
        match decision {
            Decision::Run { intent, mut request, notes } => {
                request.progress = progress.clone();
                self.run(&intent, request, &notes, parse, origin, key).await
            }
            Decision::Clarify { question, options } => {
                Reply::one(Outcome::Clarified, reply::clarify_card(&question, &options))
            }
            Decision::AskSlot { intent: _, slot, question, options } => {
                let card = reply::ask_slot_card(&question, &options);
                self.set_pending(key, Pending { parse, slot: slot.clone(), origin, at: Instant::now() });
                Reply::one(Outcome::AskedSlot { slot }, card)
            }
            Decision::Decline { message, suggestions } => {
                Reply::one(Outcome::Declined, reply::decline_card(&message, &suggestions))
            }
        }
    }

    async fn run(
        &self,
        intent: &str,
        req: Box<Request>,
        notes: &[String],
        parse: Parse,
        origin: Origin,
        key: &str,
    ) -> Reply {
        let failed = || Outcome::Failed { intent: intent.to_string() };
        let Some(skill) = self.skills.get(intent) else {
            return Reply::one(failed(), reply::internal_error_card("No skill answers that"));
        };
        // Run inline (no task hand-off), with a panic in the skill caught as an error card.
        let result = match tokio::time::timeout(self.skill_timeout, CatchUnwind(skill.run(&req, &self.backends))).await
        {
            Ok(Some(r)) => Ok(r),
            Ok(None) => Err(()),
            Err(_) => {
                let t = self.skill_timeout;
                let within =
                    if t.as_secs() > 0 { format!("{} s", t.as_secs()) } else { format!("{} ms", t.as_millis()) };
                let card = Card::new(format!("No answer within {within}"), Status::Critical)
                    .field("Skill", intent)
                    .text("The backend did not answer in time; the request may still complete.");
                return Reply::one(failed(), card);
            }
        };
        match result {
            Ok(Ok(mut card)) => {
                for note in notes {
                    reply::add_footer_note(&mut card, note);
                }
                Reply::one(Outcome::Ran { intent: intent.to_string() }, card)
            }
            Ok(Err(SkillError::Missing(slot))) => {
                let (question, options) = {
                    let engine = read(&self.engine);
                    let inventory = read(&self.inventory);
                    let skills = |i: &str| self.skill_info(i);
                    let cx = Context {
                        user: "",
                        now: Utc::now(),
                        gazetteer: engine.gazetteer(),
                        inventory: &inventory,
                        skills: &skills,
                    };
                    match self.policy.ask_slot(intent, slot, &parse.slots, &cx) {
                        Decision::AskSlot { question, options, .. } => (question, options),
                        _ => (policy::question(intent, slot), Vec::new()),
                    }
                };
                self.set_pending(key, Pending { parse, slot: slot.to_string(), origin, at: Instant::now() });
                Reply::one(Outcome::AskedSlot { slot: slot.to_string() }, reply::ask_slot_card(&question, &options))
            }
            Ok(Err(e)) => {
                tracing::warn!(intent, error = %e, "skill failed");
                let retry = |name: &str| retry_with(intent, &parse, &e, name);
                Reply::one(failed(), reply::skill_error_card(intent, &e, &retry))
            }
            Err(()) => {
                tracing::error!(intent, "skill panicked");
                Reply::one(failed(), reply::internal_error_card(&format!("The {intent} skill crashed")))
            }
        }
    }

    fn take_pending(&self, key: &str) -> Option<Pending> {
        let mut map = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        map.remove(key).filter(|p| p.at.elapsed() < PENDING_TTL)
    }

    fn set_pending(&self, key: &str, p: Pending) {
        let mut map = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        if map.len() >= MAX_PENDING {
            map.retain(|_, p| p.at.elapsed() < PENDING_TTL);
            if map.len() >= MAX_PENDING {
                map.clear();
            }
        }
        map.insert(key.to_string(), p);
    }
}

/// Parses `text`, or takes it as the answer to `pending`'s question.
fn understand(
    engine: &RwLock<Engine>,
    text: &str,
    pending: Option<Pending>,
    now: DateTime<Utc>,
) -> Result<(Parse, Origin), Reply> {
    let engine = read(engine);
    let parse = catch_unwind(AssertUnwindSafe(|| engine.parse_at(text, now))).map_err(|_| {
        tracing::error!(len = text.len(), "the NLU panicked");
        Reply::one(Outcome::Declined, reply::internal_error_card("The language engine failed on that message"))
    })?;
    if let Some(p) = pending
        && let Some(answered) = answer(&p, text, &parse, engine.gazetteer(), now)
    {
        return Ok((answered, p.origin));
    }
    Ok((parse, Origin::Typed))
}

/// A boxed future (as `async_trait` skills return) whose panics become `None`.
struct CatchUnwind<'a, T>(Pin<Box<dyn Future<Output = T> + Send + 'a>>);

impl<T> Future for CatchUnwind<'_, T> {
    type Output = Option<T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Option<T>> {
        match catch_unwind(AssertUnwindSafe(|| self.0.as_mut().poll(cx))) {
            Ok(Poll::Ready(v)) => Poll::Ready(Some(v)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(_) => Poll::Ready(None),
        }
    }
}

/// Words that drop an open question.
fn is_cancel(text: &str) -> bool {
    let t = text.trim_end_matches(['.', '!']).to_lowercase();
    matches!(t.as_str(), "cancel" | "no" | "nope" | "never mind" | "nevermind" | "stop" | "abort" | "取消" | "算了")
}

/// Takes `text` as the answer to an open question when it is short and is not itself a
/// clear request: a known name, or a single word the NLU cannot place.
fn answer(p: &Pending, text: &str, parse: &Parse, gaz: &nlu::Gazetteer, now: DateTime<Utc>) -> Option<Parse> {
    if text.split_whitespace().count() > MAX_ANSWER_WORDS {
        return None;
    }
    let slot = request::slot_from_value(&p.slot, text, gaz, now);
    let single_unplaced = !text.contains(' ') && parse.verdict == Verdict::OutOfScope;
    if slot.resolved.is_none() && !single_unplaced {
        return None;
    }
    let mut answered = p.parse.clone();
    answered.slots.retain(|s| s.name != p.slot);
    answered.slots.push(Slot { span: (answered.text.len(), answered.text.len() + text.len()), ..slot });
    answered.text = format!("{} {text}", answered.text).trim().to_string();
    Some(answered)
}

/// The request of `parse` again with the slot the error names replaced by `name`.
fn retry_with(intent: &str, parse: &Parse, err: &SkillError, name: &str) -> Option<RunPayload> {
    let SkillError::Unknown { kind, .. } = err else { return None };
    let mut values: Vec<(String, String)> =
        parse.slots.iter().filter(|s| s.name != *kind).map(|s| (s.name.clone(), request::payload_value(s))).collect();
    values.push((kind.to_string(), name.to_string()));
    Some(RunPayload::new(intent, values))
}

#[cfg(test)]
mod tests {
    //! The core with a real lexical engine and the demo estate, where the risky skill
    //! is a fake that records its calls: unsure sentences must never reach it.

    use super::*;
    use crate::core::Platform;
    use async_trait::async_trait;
    use nlu::{Resolved, Verdict};
    use skills::{Risk, Skill};
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A skill that counts its runs.
    struct Recorder {
        intent: &'static str,
        risk: Risk,
        calls: Arc<AtomicUsize>,
    }

    #[async_trait]
    impl Skill for Recorder {
        fn intent(&self) -> &'static str {
            self.intent
        }
        fn required_slots(&self) -> &'static [&'static str] {
            &["service"]
        }
        fn risk(&self) -> Risk {
            self.risk
        }
        async fn run(&self, req: &Request, _: &Backends) -> Result<Card, SkillError> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            Ok(Card::new(format!("{} ran for {}", self.intent, req.service.as_deref().unwrap_or("?")), Status::Ok))
        }
    }

    /// The lexical engine, trained once per test run and cloned for each test.
    fn engine() -> Engine {
        static ENGINE: OnceLock<Engine> = OnceLock::new();
        ENGINE
            .get_or_init(|| {
                let data = crate::cli::nlu::chatops_data(None).expect("built-in data");
                crate::cli::nlu::train_chatops(&data, None, false).expect("train")
            })
            .clone()
    }

    async fn core(risk: Risk) -> (Core, Arc<AtomicUsize>) {
        let calls = Arc::new(AtomicUsize::new(0));
        let mut registry = skills::registry();
        registry.push(Box::new(Recorder { intent: "restart_service", risk, calls: Arc::clone(&calls) }));
        let estate = Arc::new(skills::DemoEstate::new(7));
        let core = Core::new(engine(), registry, estate.backends(), Policy::default());
        assert!(core.refresh_inventory().await.is_empty());
        (core, calls)
    }

    fn say(text: &str) -> Inbound {
        Inbound::text(Platform::Console, "test", "alice", text)
    }

    /// Sentences the engine may be unsure of, misspelt names, and chit-chat.
    const UNSURE: &[&str] = &[
        "hey guys what happened?",
        "restart latet",
        "restart lattee",
        "restart latte maybe, or just check it?",
        "latte",
        "latte restart health logs",
        "should we restart latte",
        "is restarting latte a good idea",
        "what does restart mean",
        "restart the world",
        "restart pizza",
        "bounce latet in prod",
        "reboot paymnts-api",
        "rs searhc",
        "restart",
        "could you",
        "check latte or restart it",
        "restart everything now",
        "🔥🔥🔥 restart 🔥🔥🔥",
        "restart\u{0}latte",
    ];

    #[tokio::test]
    async fn unsure_sentences_never_reach_a_risky_skill() {
        for risk in [Risk::Change, Risk::Destructive] {
            let (core, calls) = core(risk).await;
            for text in UNSURE {
                let parse = read(core.engine()).parse(&normalise(text));
                let before = calls.load(Ordering::SeqCst);
                let reply = core.handle(say(text)).await;
                let ran = calls.load(Ordering::SeqCst) > before;
                if ran {
                    let exact = parse
                        .slot("service")
                        .is_some_and(|s| matches!(s.resolved, Some(Resolved::Entity { score, .. }) if score >= 1.0));
                    assert!(
                        parse.verdict == Verdict::Confident && parse.confidence >= 0.8 && exact,
                        "{text:?} ran the {risk:?} skill on {parse:?}"
                    );
                }
                assert!(!reply.cards.is_empty(), "{text:?}");
            }
            for text in ["hey guys what happened?", "restart latet", "restart lattee", "restart pizza", "restart"] {
                let before = calls.load(Ordering::SeqCst);
                let reply = core.handle(Inbound::text(Platform::Slack, text, "bob", text)).await;
                assert_eq!(calls.load(Ordering::SeqCst), before, "{text:?} ran: {reply:?}");
            }
        }
    }

    #[tokio::test]
    async fn clear_requests_and_clicks_do_run() {
        let (core, calls) = core(Risk::Change).await;
        let reply = core.handle(say("restart latte")).await;
        assert_eq!(reply.outcome, Outcome::Ran { intent: "restart_service".into() });
        assert_eq!(calls.load(Ordering::SeqCst), 1);

        // A misspelt name asks; the offered button runs it.
        let reply = core.handle(say("restart latet")).await;
        assert_eq!(reply.outcome, Outcome::Clarified);
        let b = &reply.cards[0].buttons[0];
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        let reply = core.handle(Inbound::action(Platform::Console, "test", "alice", &b.action, &b.payload)).await;
        assert_eq!(reply.outcome, Outcome::Ran { intent: "restart_service".into() }, "{reply:?}");
        assert_eq!(calls.load(Ordering::SeqCst), 2);

        // The health card's Restart button.
        let reply = core.handle(Inbound::action(Platform::Console, "test", "alice", "restart", "latte")).await;
        assert!(reply.ran_skill());
        assert_eq!(calls.load(Ordering::SeqCst), 3);
        // ...but not for a name that does not exist.
        let reply = core.handle(Inbound::action(Platform::Console, "test", "alice", "restart", "lattee")).await;
        assert!(!reply.ran_skill(), "{reply:?}");
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn a_card_button_acts_on_the_cards_environment() {
        let estate = Arc::new(skills::DemoEstate::new(7));
        let core = Core::new(engine(), skills::registry(), estate.backends(), Policy::default());
        assert!(core.refresh_inventory().await.is_empty());
        let reply = core.handle(Inbound::action(Platform::Console, "t", "alice", "refresh", "search@staging")).await;
        assert_eq!(reply.cards[0].title, "search (staging)", "{reply:?}");
        let restart = reply.cards[0].buttons.iter().find(|b| b.action == "restart").expect("restart button");
        assert_eq!(restart.payload, "search@staging");
        let reply = core.handle(Inbound::action(Platform::Console, "t", "alice", "restart", &restart.payload)).await;
        assert!(reply.ran_skill(), "{reply:?}");
        let said: String = reply.cards[0]
            .blocks
            .iter()
            .map(|b| match b {
                skills::Block::Text { text } | skills::Block::Code { text } => text.as_str(),
            })
            .collect();
        assert!(said.contains("in staging"), "{said}");
    }

    #[tokio::test]
    async fn a_missing_service_is_asked_for_and_the_answer_used() {
        let (core, calls) = core(Risk::Change).await;
        let reply = core.handle(say("restart")).await;
        assert_eq!(reply.outcome, Outcome::AskedSlot { slot: "service".into() }, "{reply:?}");
        assert_eq!(reply.cards[0].title, "Which service should I restart?");
        // A misspelt answer is not good enough for a restart.
        let reply = core.handle(say("latet")).await;
        assert_eq!(reply.outcome, Outcome::Clarified, "{reply:?}");
        assert_eq!(calls.load(Ordering::SeqCst), 0);

        core.handle(say("restart")).await;
        let reply = core.handle(say("latte")).await;
        assert_eq!(reply.outcome, Outcome::Ran { intent: "restart_service".into() }, "{reply:?}");
        assert_eq!(calls.load(Ordering::SeqCst), 1);

        // The question belongs to its conversation and user only.
        core.handle(say("restart")).await;
        let other = core.handle(Inbound::text(Platform::Console, "test", "mallory", "latte")).await;
        assert_ne!(other.outcome, Outcome::Ran { intent: "restart_service".into() }, "{other:?}");
        let reply = core.handle(say("cancel")).await;
        assert_eq!(reply.outcome, Outcome::Declined);
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn read_skills_answer_on_fuzzy_names_and_say_so() {
        let (core, _) = core(Risk::Change).await;
        let reply = core.handle(say("check latet")).await;
        assert_eq!(reply.outcome, Outcome::Ran { intent: "health_check".into() }, "{reply:?}");
        let footer = reply.cards[0].footer.clone().unwrap_or_default();
        assert!(footer.contains("read 'latet' as latte"), "{footer}");
    }

    #[tokio::test]
    async fn skill_errors_name_the_cause() {
        let (core, _) = core(Risk::Change).await;
        let reply = core.handle(Inbound::action(Platform::Console, "t", "a", "logs", "pizzeria")).await;
        assert_eq!(reply.outcome, Outcome::Failed { intent: "query_logs".into() }, "{reply:?}");
        assert!(reply.cards[0].title.starts_with("I don't know a service called 'pizzeria'"), "{reply:?}");
        let reply = core.handle(Inbound::action(Platform::Console, "t", "a", "logs", "lattexx")).await;
        assert_eq!(reply.cards[0].title, "I don't know a service called 'lattexx'. Did you mean latte?", "{reply:?}");
        assert_eq!(reply.cards[0].buttons[0].payload, "query_logs?service=latte");
    }

    struct Panicker;

    #[async_trait]
    impl Skill for Panicker {
        fn intent(&self) -> &'static str {
            "health_check"
        }
        fn required_slots(&self) -> &'static [&'static str] {
            &[]
        }
        fn risk(&self) -> Risk {
            Risk::Read
        }
        async fn run(&self, _: &Request, _: &Backends) -> Result<Card, SkillError> {
            panic!("a skill bug")
        }
    }

    struct Sleeper;

    #[async_trait]
    impl Skill for Sleeper {
        fn intent(&self) -> &'static str {
            "health_check"
        }
        fn required_slots(&self) -> &'static [&'static str] {
            &[]
        }
        fn risk(&self) -> Risk {
            Risk::Read
        }
        async fn run(&self, _: &Request, _: &Backends) -> Result<Card, SkillError> {
            tokio::time::sleep(Duration::from_secs(5)).await;
            Ok(Card::new("late", Status::Ok))
        }
    }

    #[tokio::test]
    async fn a_slow_skill_times_out() {
        let estate = Arc::new(skills::DemoEstate::new(7));
        let core = Core::new(engine(), vec![Box::new(Sleeper)], estate.backends(), Policy::default())
            .with_skill_timeout(Duration::from_millis(20));
        let reply = core.handle(say("check latte")).await;
        assert_eq!(reply.outcome, Outcome::Failed { intent: "health_check".into() });
        assert_eq!(reply.cards[0].title, "No answer within 20 ms");
    }

    #[tokio::test]
    async fn a_panicking_skill_is_an_error_card() {
        let estate = Arc::new(skills::DemoEstate::new(7));
        let core = Core::new(engine(), vec![Box::new(Panicker)], estate.backends(), Policy::default());
        let reply = core.handle(say("check latte")).await;
        assert_eq!(reply.outcome, Outcome::Failed { intent: "health_check".into() });
        assert_eq!(reply.cards[0].status, Status::Critical);
        assert!(
            reply.cards[0].blocks.iter().any(|b| matches!(b, skills::Block::Text { text } if text.contains("crashed")))
        );
    }

    #[tokio::test]
    async fn nothing_panics_on_odd_input() {
        let (core, calls) = core(Risk::Change).await;
        let huge = "restart latte ".repeat(8000);
        let padded = format!("restart latte{}but not before the release", " ".repeat(5000));
        let odd = [
            "",
            " ",
            "\u{0}\u{1b}[2J",
            &huge,
            "/1",
            "?",
            "%",
            "restart_service?service=latte",
            "é".repeat(50_000).as_str(),
            &padded,
        ]
        .map(String::from);
        for text in &odd {
            assert!(!core.handle(say(text)).await.cards.is_empty());
        }
        for (a, p) in
            [("", ""), ("run", ""), ("run", "%%"), ("run", &huge), ("say", &huge), ("x\u{0}", "y"), ("cancel", "")]
        {
            assert!(!core.handle(Inbound::action(Platform::Http, "t", "u", a, p)).await.cards.is_empty());
        }
        assert_eq!(calls.load(Ordering::SeqCst), 0, "a message cut by the NLU must not restart");
    }
}
