//! Which updates the bot acts on, and what text reaches the core: every message in
//! a private chat; in groups only those that mention the bot or reply to it, with
//! the mention taken out. `/start` and `/help` ask for help.

/// Who the bot is, from `getMe`.
#[derive(Debug, Clone)]
pub struct Me {
    /// The bot's user id.
    pub id: u64,
    /// Its username without `@`, lower-cased (empty if it has none).
    pub username: String,
}

/// A message, reduced to what routing needs.
#[derive(Debug, Clone)]
pub struct Incoming<'a> {
    /// A private chat (else a group or supergroup).
    pub private: bool,
    /// The text, if the message has any.
    pub text: Option<&'a str>,
    /// The message replies to one of the bot's.
    pub replies_to_bot: bool,
}

/// What to do with a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// Hand this text to the core.
    Ask(String),
    /// Say that only text is understood (a sticker or photo in a private chat).
    OnlyText,
    /// Not for the bot.
    Ignore,
}

/// Finds `@username` as a whole word, case-insensitively; returns its byte range.
fn find_mention(text: &str, username: &str) -> Option<(usize, usize)> {
    if username.is_empty() {
        return None;
    }
    let lower = text.to_ascii_lowercase();
    let needle = format!("@{username}");
    let mut from = 0;
    while let Some(pos) = lower[from..].find(&needle) {
        let start = from + pos;
        let end = start + needle.len();
        let word_char = |c: char| c.is_ascii_alphanumeric() || c == '_';
        if !lower[end..].starts_with(word_char) {
            return Some((start, end));
        }
        from = end;
    }
    None
}

/// Removes every mention of the bot.
fn strip_mentions(text: &str, username: &str) -> String {
    let mut out = text.to_string();
    while let Some((s, e)) = find_mention(&out, username) {
        out.replace_range(s..e, " ");
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Decides what to do with a message.
pub fn route(msg: &Incoming<'_>, me: &Me) -> Route {
    let Some(text) = msg.text else {
        return if msg.private { Route::OnlyText } else { Route::Ignore };
    };
    let mentioned = find_mention(text, &me.username).is_some();
    if !msg.private && !mentioned && !msg.replies_to_bot && !is_command_for(text, &me.username) {
        return Route::Ignore;
    }
    let text = strip_mentions(text, &me.username);
    if let Some(rest) = text.strip_prefix('/') {
        let (command, args) = rest.split_once(' ').unwrap_or((rest, ""));
        let (command, target) = command.split_once('@').unwrap_or((command, ""));
        if !target.is_empty() && !target.eq_ignore_ascii_case(&me.username) {
            return Route::Ignore;
        }
        return match command.to_ascii_lowercase().as_str() {
            "start" | "help" => Route::Ask("help".into()),
            // `/restart latte` reads as "restart latte".
            _ => Route::Ask(format!("{command} {args}").trim().to_string()),
        };
    }
    Route::Ask(text)
}

/// `/command@thisbot` in a group is addressed to the bot.
fn is_command_for(text: &str, username: &str) -> bool {
    let first = text.split_whitespace().next().unwrap_or("");
    first.starts_with('/')
        && first.split_once('@').is_some_and(|(_, t)| !username.is_empty() && t.eq_ignore_ascii_case(username))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn me() -> Me {
        Me { id: 1, username: "pipilu_bot".into() }
    }

    fn r(private: bool, text: Option<&str>, replies_to_bot: bool) -> Route {
        route(&Incoming { private, text, replies_to_bot }, &me())
    }

    #[test]
    fn private_chats_get_everything() {
        assert_eq!(r(true, Some("is latte ok?"), false), Route::Ask("is latte ok?".into()));
        assert_eq!(r(true, Some("/start"), false), Route::Ask("help".into()));
        assert_eq!(r(true, Some("/help@Pipilu_Bot"), false), Route::Ask("help".into()));
        assert_eq!(r(true, Some("/restart latte"), false), Route::Ask("restart latte".into()));
        assert_eq!(r(true, None, false), Route::OnlyText);
        assert_eq!(r(true, Some(""), false), Route::Ask(String::new()));
    }

    #[test]
    fn groups_need_a_mention_or_a_reply() {
        assert_eq!(r(false, Some("is latte ok?"), false), Route::Ignore);
        assert_eq!(r(false, Some("@pipilu_bot is latte ok?"), false), Route::Ask("is latte ok?".into()));
        assert_eq!(r(false, Some("hey @PIPILU_BOT, check latte"), false), Route::Ask("hey , check latte".into()));
        assert_eq!(r(false, Some("@pipilu_bot_fan check latte"), false), Route::Ignore);
        assert_eq!(r(false, Some("check latte"), true), Route::Ask("check latte".into()));
        assert_eq!(r(false, Some("/help@other_bot"), false), Route::Ignore);
        assert_eq!(r(false, Some("/help@pipilu_bot"), false), Route::Ask("help".into()));
        assert_eq!(r(false, Some("/help"), false), Route::Ignore);
        assert_eq!(r(false, None, true), Route::Ignore);
    }

    #[test]
    fn odd_text_does_not_panic() {
        for t in ["@", "@pipilu_bot", "/", "/@", "ä@pipilu_botß", "@pipilu_bot@pipilu_bot", "\u{0}"] {
            let _ = r(false, Some(t), false);
            let _ = r(true, Some(t), true);
        }
        assert_eq!(r(false, Some("ä@pipilu_botß"), false), Route::Ask("ä ß".into()));
    }
}
