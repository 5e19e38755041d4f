//! Cards as Slack Block Kit: a header with the status, fields, the table and logs
//! as code, an image, the footer as context and the buttons as an actions block,
//! plus a plain-text fallback for notifications.
//!
//! Everything from a card is escaped for mrkdwn (`&`, `<`, `>`), so backend data
//! cannot mention `@channel` or forge links, and every piece is cut to Slack's
//! limits so a long log never makes `chat.postMessage` fail with `invalid_blocks`.

use super::status_emoji;
use serde_json::{Value, json};
use skills::{Block, Button, ButtonStyle, Card, Table};
use std::collections::HashMap;

/// Longest header text.
pub const MAX_HEADER: usize = 150;
/// Most fields in one section.
pub const MAX_FIELDS: usize = 10;
/// Longest field text.
pub const MAX_FIELD: usize = 2000;
/// Longest section text.
pub const MAX_SECTION: usize = 3000;
/// Longest button label.
pub const MAX_LABEL: usize = 75;
/// Longest button value.
pub const MAX_VALUE: usize = 2000;
/// Most elements in one actions block.
pub const MAX_ACTIONS: usize = 25;
/// Most blocks in one message.
pub const MAX_BLOCKS: usize = 50;
/// Longest `text` fallback we send.
const MAX_FALLBACK: usize = 3000;

/// Where the card's image is, once the adapter has dealt with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageRef {
    /// Uploaded into the same thread as a file: the card only names it.
    InThread,
    /// An uploaded Slack file, shown with a `slack_file` image block.
    SlackFile(String),
    /// A public URL, shown with an `image_url` image block.
    Url(String),
}

/// A rendered card: blocks for `chat.postMessage` and the fallback text.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    /// Plain text used by notifications and clients without Block Kit.
    pub text: String,
    /// The Block Kit blocks.
    pub blocks: Vec<Value>,
}

/// Escapes text for mrkdwn: `&`, `<` and `>` only, as Slack asks.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

/// Cuts `s` to at most `max` characters, ending with `…` when cut.
pub fn cut(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Splits the `#N` suffix that keeps repeated action names unique in one message.
pub fn action_name(action_id: &str) -> &str {
    match action_id.rsplit_once('#') {
        Some((name, n)) if !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()) => name,
        _ => action_id,
    }
}

fn mrkdwn(text: String) -> Value {
    json!({ "type": "mrkdwn", "text": text })
}

fn section(text: String) -> Value {
    json!({ "type": "section", "text": mrkdwn(text) })
}

/// A code block of `text` in one section, cut to the section limit with a note saying how much was left out.
fn code_section(text: &str) -> Value {
    // Three backticks inside would end the code block early.
    let text = text.replace("```", "`\u{200b}``");
    let lines = text.lines().count();
    let (open, close) = ("```\n", "\n```");
    let budget = MAX_SECTION - open.len() - close.len();
    let escaped = escape(&text);
    if escaped.chars().count() <= budget {
        return section(format!("{open}{escaped}{close}"));
    }
    let reserve = 60;
    let mut kept = String::new();
    let mut used = 0;
    for c in text.chars() {
        let e = escape(c.encode_utf8(&mut [0; 4]));
        let n = e.chars().count();
        if used + n > budget - reserve {
            break;
        }
        used += n;
        kept.push_str(&e);
    }
    let shown = kept.lines().count();
    let note = format!("\n… cut: {} more lines", lines.saturating_sub(shown.saturating_sub(1)).max(1));
    section(format!("{open}{kept}{close}{note}"))
}

/// The table as aligned monospace text.
fn table_text(t: &Table) -> String {
    super::table::aligned_lines(&t.header, &t.rows, '-').join("\n")
}

fn button(b: &Button, action_id: String) -> Value {
    let mut v = json!({
        "type": "button",
        "text": { "type": "plain_text", "text": cut(&b.label, MAX_LABEL), "emoji": true },
        "action_id": action_id,
        "value": b.payload,
    });
    match b.style {
        ButtonStyle::Primary => v["style"] = json!("primary"),
        ButtonStyle::Danger => v["style"] = json!("danger"),
        ButtonStyle::Default => {}
    }
    v
}

/// Buttons as actions blocks: `action_id` is the action (with `#2`, `#3` for repeats, since
/// Slack wants them unique), `value` the payload. A payload too long for Slack drops its
/// button; the returned note says so.
fn actions(buttons: &[Button]) -> (Vec<Value>, Option<String>) {
    let mut seen: HashMap<&str, usize> = HashMap::new();
    let mut elements = Vec::new();
    let mut dropped = Vec::new();
    for b in buttons {
        if b.payload.chars().count() > MAX_VALUE {
            dropped.push(b.label.as_str());
            continue;
        }
        let n = seen.entry(b.action.as_str()).or_insert(0);
        *n += 1;
        let id = if *n == 1 { b.action.clone() } else { format!("{}#{n}", b.action) };
        elements.push(button(b, id));
    }
    let blocks = elements.chunks(MAX_ACTIONS).map(|c| json!({ "type": "actions", "elements": c })).collect();
    let note = (!dropped.is_empty()).then(|| format!("Buttons left out (too long for Slack): {}", dropped.join(", ")));
    (blocks, note)
}

fn context(text: String) -> Value {
    json!({ "type": "context", "elements": [mrkdwn(cut(&text, MAX_SECTION))] })
}

/// Renders a card. `image` says where its image went (ignored when the card has none).
pub fn render(card: &Card, image: Option<&ImageRef>) -> Rendered {
    let emoji = status_emoji(card.status);
    let mut blocks = vec![json!({
        "type": "header",
        "text": { "type": "plain_text", "text": cut(&format!("{emoji} {}", card.title), MAX_HEADER), "emoji": true },
    })];
    for chunk in card.fields.chunks(MAX_FIELDS) {
        let fields: Vec<Value> =
            chunk.iter().map(|(k, v)| mrkdwn(cut(&format!("*{}*\n{}", escape(k), escape(v)), MAX_FIELD))).collect();
        blocks.push(json!({ "type": "section", "fields": fields }));
    }
    if let Some(t) = &card.table {
        blocks.push(code_section(&table_text(t)));
    }
    for b in &card.blocks {
        blocks.push(match b {
            Block::Text { text } => section(cut(&escape(text), MAX_SECTION)),
            Block::Code { text } => code_section(text),
        });
    }
    if let Some(img) = &card.image {
        let alt = cut(&img.alt, MAX_FIELD);
        match image {
            Some(ImageRef::SlackFile(id)) => {
                blocks.push(json!({ "type": "image", "slack_file": { "id": id }, "alt_text": alt }))
            }
            Some(ImageRef::Url(url)) => blocks.push(json!({ "type": "image", "image_url": url, "alt_text": alt })),
            Some(ImageRef::InThread) => blocks.push(context(format!("📈 {} (image in the thread)", escape(&alt)))),
            None => blocks.push(context(format!("📈 {} (image not shown)", escape(&alt)))),
        }
    }
    let (action_blocks, dropped) = actions(&card.buttons);
    let mut footer: Vec<String> = card.footer.iter().filter(|f| !f.is_empty()).map(|f| escape(f)).collect();
    footer.extend(dropped);
    let footer = (!footer.is_empty()).then(|| context(footer.join(" · ")));
    let tail = action_blocks.len() + usize::from(footer.is_some());
    if blocks.len() + tail > MAX_BLOCKS {
        blocks.truncate(MAX_BLOCKS - tail - 1);
        blocks.push(context("… more was cut: Slack shows at most 50 blocks".into()));
    }
    blocks.extend(action_blocks);
    blocks.extend(footer);
    Rendered { text: fallback(card), blocks }
}

/// The notification text: status, title and the fields.
pub fn fallback(card: &Card) -> String {
    let mut s = format!("{} {}", status_emoji(card.status), escape(&card.title));
    for (k, v) in &card.fields {
        s.push_str(&format!("\n{}: {}", escape(k), escape(v)));
    }
    cut(&s, MAX_FALLBACK)
}

#[cfg(test)]
mod tests {
    use super::*;
    use skills::Image;
    use skills::Status;

    fn card() -> Card {
        Card::new("latte is healthy", Status::Ok)
            .field("State", "running")
            .field("Owner", "<!channel> & <@U1>")
            .table(Table {
                header: vec!["#".into(), "state".into()],
                rows: vec![vec!["0".into(), "running".into()], vec!["10".into(), "crashed".into()]],
            })
            .text("see <https://evil|here>")
            .button("Restart", "restart", "latte", ButtonStyle::Danger)
            .button("Logs", "logs", "latte", ButtonStyle::Default)
            .button("Also", "logs", "mocha", ButtonStyle::Primary)
            .footer("demo")
    }

    #[test]
    fn renders_every_part() {
        let r = render(&card(), None);
        let kinds: Vec<&str> = r.blocks.iter().map(|b| b["type"].as_str().unwrap_or("")).collect();
        assert_eq!(kinds, ["header", "section", "section", "section", "actions", "context"]);
        assert_eq!(r.blocks[0]["text"]["text"], "✅ latte is healthy");
        assert_eq!(r.blocks[1]["fields"][1]["text"], "*Owner*\n&lt;!channel&gt; &amp; &lt;@U1&gt;");
        assert_eq!(r.blocks[2]["text"]["text"], "```\n#   state\n--  -------\n0   running\n10  crashed\n```");
        assert_eq!(r.blocks[3]["text"]["text"], "see &lt;https://evil|here&gt;");
        let buttons = r.blocks[4]["elements"].as_array().cloned().unwrap_or_default();
        let ids: Vec<&str> = buttons.iter().map(|b| b["action_id"].as_str().unwrap_or("")).collect();
        assert_eq!(ids, ["restart", "logs", "logs#2"]);
        assert_eq!(buttons[0]["style"], "danger");
        assert_eq!(buttons[0]["value"], "latte");
        assert!(buttons[1].get("style").is_none());
        assert_eq!(action_name("logs#2"), "logs");
        assert_eq!(action_name("a#b"), "a#b");
        assert!(r.text.starts_with("✅ latte is healthy\nState: running"), "{}", r.text);
        assert!(!r.text.contains("<!channel>"));
    }

    #[test]
    fn respects_slack_limits() {
        let mut c = Card::new("x".repeat(400), Status::Critical).code("line &<>\n".repeat(2000));
        for i in 0..23 {
            c = c.field(format!("k{i}"), "v".repeat(5000));
        }
        c = c.button("b", "run", "p".repeat(2001), ButtonStyle::Primary);
        let r = render(&c, None);
        assert_eq!(r.blocks[0]["text"]["text"].as_str().map(|s| s.chars().count()), Some(MAX_HEADER));
        let sections: Vec<&Value> = r.blocks.iter().filter(|b| b.get("fields").is_some()).collect();
        assert_eq!(sections.len(), 3);
        for s in &sections {
            let f = s["fields"].as_array().cloned().unwrap_or_default();
            assert!(f.len() <= MAX_FIELDS);
            assert!(f.iter().all(|f| f["text"].as_str().is_some_and(|t| t.chars().count() <= MAX_FIELD)));
        }
        let code = r.blocks[4]["text"]["text"].as_str().unwrap_or("");
        assert!(code.chars().count() <= MAX_SECTION, "{}", code.len());
        assert!(code.starts_with("```\nline &amp;&lt;&gt;\n"), "{code}");
        assert!(code.contains("```\n… cut: "), "{code}");
        assert!(r.blocks.iter().all(|b| b["type"] != "actions"));
        assert!(
            r.blocks.last().is_some_and(|b| b["elements"][0]["text"].as_str().is_some_and(|t| t.contains("left out")))
        );
    }

    #[test]
    fn images_by_where_they_went() {
        let mut c = Card::new("graph", Status::Ok);
        c.image = Some(Image { png: vec![1], alt: "cpu <5%".into(), file_name: "cpu.png".into() });
        let r = render(&c, Some(&ImageRef::SlackFile("F1".into())));
        assert_eq!(r.blocks[1], json!({ "type": "image", "slack_file": { "id": "F1" }, "alt_text": "cpu <5%" }));
        let r = render(&c, Some(&ImageRef::InThread));
        assert_eq!(r.blocks[1]["elements"][0]["text"], "📈 cpu &lt;5% (image in the thread)");
    }
}
