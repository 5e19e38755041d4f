//! Slack's payloads, read as JSON, turned into one shape: who, where, which
//! thread, and a sentence or a button click. Events are read the same whether
//! they came over HTTP or Socket Mode.

use crate::core::Content;
use crate::render::blockkit::action_name;
use serde_json::Value;

/// A message or click for the core, with where its answer goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incoming {
    /// Channel (or DM) id.
    pub channel: String,
    /// Slack user id of the sender or clicker.
    pub user: String,
    /// Thread the answer goes to; `None` answers in the channel (slash commands).
    pub thread_ts: Option<String>,
    /// What was said or clicked.
    pub content: Content,
}

fn s<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str).filter(|s| !s.is_empty())
}

/// Slack escapes `&`, `<`, `>` in message text; this undoes it after the mentions are gone.
fn unescape(text: &str) -> String {
    text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
}

/// Removes mentions of the bot (`<@U123>`, `<@U123|pipilu>`) and trims.
pub fn strip_mention(text: &str, bot_user: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("<@") {
        out.push_str(&rest[..start]);
        let after = &rest[start..];
        match after.find('>') {
            Some(end) => {
                let inner = &after[2..end];
                let id = inner.split('|').next().unwrap_or("");
                if id != bot_user {
                    out.push_str(&after[..=end]);
                }
                rest = &after[end + 1..];
            }
            None => {
                out.push_str(after);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    unescape(out.split_whitespace().collect::<Vec<_>>().join(" ").as_str())
}

/// The `event` of an `event_callback`: a mention in a channel, or a DM. Bot messages,
/// edits and other subtypes, and the bot's own messages are ignored.
pub fn from_event(event: &Value, bot_user: &str) -> Option<Incoming> {
    let kind = s(event, "type")?;
    let is_dm = kind == "message" && s(event, "channel_type") == Some("im");
    if kind != "app_mention" && !is_dm {
        return None;
    }
    if event.get("bot_id").is_some_and(|b| !b.is_null()) || s(event, "subtype").is_some() {
        return None;
    }
    let user = s(event, "user")?;
    if user == bot_user {
        return None;
    }
    let channel = s(event, "channel")?;
    let ts = s(event, "ts")?;
    let thread = s(event, "thread_ts").unwrap_or(ts);
    let text = strip_mention(s(event, "text").unwrap_or(""), bot_user);
    if text.is_empty() {
        return None;
    }
    Some(Incoming {
        channel: channel.into(),
        user: user.into(),
        thread_ts: Some(thread.into()),
        content: Content::Text(text),
    })
}

/// A `block_actions` payload: the first button clicked, as an action of the clicker,
/// answered in the thread of the message that had the button.
pub fn from_interaction(payload: &Value) -> Option<Incoming> {
    if s(payload, "type")? != "block_actions" {
        return None;
    }
    let user = s(payload.get("user")?, "id")?;
    let container = payload.get("container");
    let channel =
        payload.get("channel").and_then(|c| s(c, "id")).or_else(|| container.and_then(|c| s(c, "channel_id")))?;
    let message = payload.get("message");
    let thread = message
        .and_then(|m| s(m, "thread_ts"))
        .or_else(|| container.and_then(|c| s(c, "thread_ts")))
        .or_else(|| message.and_then(|m| s(m, "ts")))
        .or_else(|| container.and_then(|c| s(c, "message_ts")));
    let action = payload.get("actions")?.as_array()?.first()?;
    let action_id = s(action, "action_id")?;
    let value = action.get("value").and_then(Value::as_str).unwrap_or("");
    Some(Incoming {
        channel: channel.into(),
        user: user.into(),
        thread_ts: thread.map(str::to_string),
        content: Content::Action { action: action_name(action_id).into(), payload: value.into() },
    })
}

/// A slash command's form fields (`/pipilu restart latte`): answered in the channel.
pub fn from_command(form: &[(String, String)]) -> Option<Incoming> {
    let get = |k: &str| form.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str()).filter(|v| !v.is_empty());
    get("command")?;
    let text = get("text")?.trim().to_string();
    Some(Incoming {
        channel: get("channel_id")?.into(),
        user: get("user_id")?.into(),
        thread_ts: None,
        content: Content::Text(text),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn mentions_are_stripped_and_threads_kept() {
        let e = json!({"type":"app_mention","user":"U1","channel":"C1","ts":"2.0","thread_ts":"1.0",
            "text":"<@UBOT> restart  latte &amp; <@U2>"});
        let i = from_event(&e, "UBOT").expect("incoming");
        assert_eq!(i.thread_ts.as_deref(), Some("1.0"));
        assert_eq!(i.content, Content::Text("restart latte & <@U2>".into()));
        assert_eq!(strip_mention("<@UBOT|pipilu> hi", "UBOT"), "hi");
    }

    #[test]
    fn dms_only_from_people() {
        let dm = json!({"type":"message","channel_type":"im","user":"U1","channel":"D1","ts":"3.0","text":"hi"});
        assert_eq!(from_event(&dm, "UBOT").and_then(|i| i.thread_ts), Some("3.0".into()));
        let mut bot = dm.clone();
        bot["bot_id"] = json!("B1");
        assert!(from_event(&bot, "UBOT").is_none());
        let mut edit = dm.clone();
        edit["subtype"] = json!("message_changed");
        assert!(from_event(&edit, "UBOT").is_none());
        let mut channel = dm.clone();
        channel["channel_type"] = json!("channel");
        assert!(from_event(&channel, "UBOT").is_none());
    }

    #[test]
    fn clicks_and_commands() {
        let p = json!({"type":"block_actions","user":{"id":"U1"},"channel":{"id":"C1"},
            "container":{"type":"message","message_ts":"5.0","channel_id":"C1"},
            "message":{"ts":"5.0","thread_ts":"4.0"},"actions":[{"action_id":"logs#2","value":"mocha"}]});
        let i = from_interaction(&p).expect("click");
        assert_eq!(i.thread_ts.as_deref(), Some("4.0"));
        assert_eq!(i.content, Content::Action { action: "logs".into(), payload: "mocha".into() });
        let form: Vec<(String, String)> =
            [("command", "/pipilu"), ("text", " check latte "), ("user_id", "U1"), ("channel_id", "C1")]
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect();
        let c = from_command(&form).expect("command");
        assert_eq!((c.thread_ts, c.content), (None, Content::Text("check latte".into())));
    }
}
