//! Cards as Telegram messages: HTML text (`<b>`, `<i>`, `<pre>`), an inline
//! keyboard for the buttons, the image as a photo, and the whole card as a text
//! document when it had to be cut to fit Telegram's 4096-character limit.
//!
//! Every piece of card text is escaped, so backend data cannot inject markup. Long
//! text is cut between lines (a single huge line inside it) and before escaping, so
//! a cut never splits a tag or an entity.

use crate::render::{ButtonHints, Console, ImageStore, status_emoji};
use skills::{Block, Button, ButtonStyle, Card, Table};
use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, PoisonError};
use teloxide::types::{InlineKeyboardButton, InlineKeyboardMarkup};

/// Telegram's limit for a message text (counted here in UTF-16 units over the HTML, which is stricter).
pub const MAX_MESSAGE: usize = 4096;
/// Telegram's limit for a photo caption.
pub const MAX_CAPTION: usize = 1024;
/// Telegram's limit for a button's callback data, in bytes.
pub const MAX_CALLBACK_DATA: usize = 64;
/// Longest single line kept of a title, field or table cell.
const MAX_LINE: usize = 512;

/// Escapes text for Telegram HTML and replaces control characters (keeps newlines, expands tabs).
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\n' => out.push('\n'),
            '\t' => out.push_str("    "),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

fn units(s: &str) -> usize {
    s.encode_utf16().count()
}

/// The first `max` characters of one line, with an ellipsis when cut.
fn clip(s: &str, max: usize) -> String {
    let one: String = s.replace(['\n', '\r'], " ");
    if one.chars().count() <= max {
        return one;
    }
    let mut cut: String = one.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// A run of lines shown together: plain, or inside `<pre>`. Lines are raw (escaped when written).
struct Section {
    pre: bool,
    lines: Vec<String>,
}

fn table_lines(t: &Table) -> Vec<String> {
    let clean = |s: &str| clip(s, MAX_LINE);
    let header: Vec<String> = t.header.iter().map(|h| clean(h)).collect();
    let rows: Vec<Vec<String>> = t.rows.iter().map(|r| r.iter().map(|c| clean(c)).collect()).collect();
    super::table::aligned_lines(&header, &rows, '─')
}

/// A photo to send with the card.
#[derive(Debug, Clone, PartialEq)]
pub struct Photo {
    /// PNG bytes.
    pub png: Vec<u8>,
    /// Caption (HTML, escaped alt text).
    pub caption: String,
    /// File name for the upload.
    pub file_name: String,
}

/// A text file to send when the card had to be cut.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    /// File name.
    pub file_name: String,
    /// The whole card as plain text.
    pub text: String,
}

/// One card, ready to send.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    /// The message text (HTML), at most [`MAX_MESSAGE`] UTF-16 units.
    pub html: String,
    /// The card's buttons, or `None` when it has none.
    pub keyboard: Option<InlineKeyboardMarkup>,
    /// The card's image.
    pub photo: Option<Photo>,
    /// The full card when lines were cut.
    pub document: Option<Document>,
    /// Lines left out of `html`.
    pub cut_lines: usize,
}

/// What a button click carries back: an action and its payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Click {
    /// Action name.
    pub action: String,
    /// Payload.
    pub payload: String,
}

/// Callback data for buttons. Telegram allows 64 bytes: a short action and payload travel
/// inline as `action payload`; longer ones are kept here under `#id` (bounded, oldest dropped).
#[derive(Debug)]
pub struct Callbacks {
    inner: Mutex<Stored>,
    capacity: usize,
}

#[derive(Debug, Default)]
struct Stored {
    next: u64,
    by_id: HashMap<String, Click>,
    by_click: HashMap<(String, String), String>,
    order: VecDeque<String>,
}

impl Default for Callbacks {
    fn default() -> Self {
        Callbacks::new(10_000)
    }
}

impl Callbacks {
    /// A store keeping at most `capacity` long callbacks.
    pub fn new(capacity: usize) -> Self {
        Callbacks { inner: Mutex::new(Stored::default()), capacity: capacity.max(1) }
    }

    /// The callback data for a button (at most [`MAX_CALLBACK_DATA`] bytes).
    pub fn encode(&self, action: &str, payload: &str) -> String {
        let inline = format!("{action} {payload}");
        let plain_action = !action.is_empty() && !action.starts_with('#') && !action.contains(' ');
        if plain_action && inline.len() <= MAX_CALLBACK_DATA {
            return inline;
        }
        let mut s = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let key = (action.to_string(), payload.to_string());
        if let Some(id) = s.by_click.get(&key) {
            return id.clone();
        }
        let id = format!("#{:x}", s.next);
        s.next += 1;
        s.by_id.insert(id.clone(), Click { action: key.0.clone(), payload: key.1.clone() });
        s.by_click.insert(key, id.clone());
        s.order.push_back(id.clone());
        while s.order.len() > self.capacity {
            if let Some(old) = s.order.pop_front()
                && let Some(c) = s.by_id.remove(&old)
            {
                s.by_click.remove(&(c.action, c.payload));
            }
        }
        id
    }

    /// The click a callback data stands for; `None` when unknown (an old button, a forged one).
    pub fn decode(&self, data: &str) -> Option<Click> {
        if data.starts_with('#') {
            return self.inner.lock().unwrap_or_else(PoisonError::into_inner).by_id.get(data).cloned();
        }
        let (action, payload) = data.split_once(' ')?;
        (!action.is_empty()).then(|| Click { action: action.to_string(), payload: payload.to_string() })
    }
}

fn keyboard(buttons: &[Button], callbacks: &Callbacks) -> Option<InlineKeyboardMarkup> {
    if buttons.is_empty() {
        return None;
    }
    let make = |b: &Button| {
        let mut label = clip(&b.label, 60);
        if b.style == ButtonStyle::Danger {
            label = format!("⚠️ {label}");
        }
        InlineKeyboardButton::callback(label, callbacks.encode(&b.action, &b.payload))
    };
    // Short labels share rows of three; sentences (suggestions) get a row each.
    let per_row = if buttons.iter().all(|b| b.label.chars().count() <= 16) { 3 } else { 1 };
    let rows: Vec<Vec<InlineKeyboardButton>> =
        buttons.chunks(per_row).map(|row| row.iter().map(make).collect()).collect();
    Some(InlineKeyboardMarkup::new(rows))
}

/// The card as plain text (the console renderer without colour), for the document.
fn plain_text(card: &Card) -> String {
    let mut card = card.clone();
    card.image = None;
    let mut out = String::new();
    Console::new(false, ButtonHints::Command, ImageStore::new(None)).render_card(&card, &mut out, &mut Vec::new());
    out
}

/// Renders a card for Telegram; long callback data is kept in `callbacks`.
pub fn render(card: &Card, callbacks: &Callbacks) -> Rendered {
    render_within(card, callbacks, MAX_MESSAGE)
}

/// Like [`render`] with another limit (tests).
pub fn render_within(card: &Card, callbacks: &Callbacks, limit: usize) -> Rendered {
    let mut head = format!("{} <b>{}</b>", status_emoji(card.status), escape(&clip(&card.title, MAX_LINE)));
    for (k, v) in &card.fields {
        head.push_str(&format!("\n<b>{}:</b> {}", escape(&clip(k, 64)), escape(&clip(v, MAX_LINE))));
    }
    let mut sections = Vec::new();
    if let Some(t) = &card.table {
        sections.push(Section { pre: true, lines: table_lines(t) });
    }
    for block in &card.blocks {
        match block {
            Block::Text { text } => {
                sections.push(Section { pre: false, lines: text.lines().map(String::from).collect() })
            }
            Block::Code { text } => {
                sections.push(Section { pre: true, lines: text.lines().map(String::from).collect() })
            }
        }
    }
    let footer = card
        .footer
        .as_deref()
        .filter(|f| !f.is_empty())
        .map(|f| format!("\n\n<i>{}</i>", escape(&clip(f, MAX_LINE))))
        .unwrap_or_default();

    let mut html = head;
    // Room kept for the footer and a cut note.
    let reserve = units(&footer) + 64;
    let budget = limit.saturating_sub(reserve);
    let mut cut_lines = 0usize;
    'sections: for (si, section) in sections.iter().enumerate() {
        let open = if section.pre { "\n\n<pre>" } else { "\n\n" };
        let close = if section.pre { "</pre>" } else { "" };
        if units(&html) + units(open) + units(close) + 1 > budget {
            cut_lines = sections[si..].iter().map(|s| s.lines.len()).sum();
            break;
        }
        html.push_str(open);
        for (li, line) in section.lines.iter().enumerate() {
            let sep = if li > 0 { "\n" } else { "" };
            let escaped = escape(line);
            let room = budget.saturating_sub(units(&html) + units(close) + units(sep));
            if units(&escaped) <= room {
                html.push_str(sep);
                html.push_str(&escaped);
                continue;
            }
            // The line does not fit: keep what fits of it (cut before escaping), then stop.
            let mut kept = String::new();
            let mut used = 0;
            for c in line.chars() {
                let e = escape(c.encode_utf8(&mut [0; 4]));
                if used + units(&e) + 1 > room {
                    break;
                }
                used += units(&e);
                kept.push_str(&e);
            }
            if !kept.is_empty() {
                html.push_str(sep);
                html.push_str(&kept);
                html.push('…');
            }
            // The partly shown line counts as cut.
            cut_lines = section.lines.len() - li + sections[si + 1..].iter().map(|s| s.lines.len()).sum::<usize>();
            html.push_str(close);
            break 'sections;
        }
        html.push_str(close);
    }
    let cut = cut_lines > 0;
    if cut {
        let noun = if cut_lines == 1 { "line" } else { "lines" };
        html.push_str(&format!("\n<i>… (cut: {cut_lines} more {noun}; the whole card is in the file)</i>"));
    }
    html.push_str(&footer);
    let photo = card.image.as_ref().filter(|i| !i.png.is_empty()).map(|img| {
        let alt = clip(&img.alt, MAX_CAPTION - 16);
        Photo {
            png: img.png.clone(),
            caption: escape(&alt),
            file_name: if img.file_name.is_empty() { "image.png".into() } else { img.file_name.clone() },
        }
    });
    Rendered {
        html,
        keyboard: keyboard(&card.buttons, callbacks),
        photo,
        document: cut.then(|| Document { file_name: "pipilu-card.txt".into(), text: plain_text(card) }),
        cut_lines,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use skills::Image;
    use skills::Status;

    fn health() -> Card {
        Card::new("latte is <b>healthy</b> & fine", Status::Ok)
            .field("State", "running")
            .table(Table {
                header: vec!["#".into(), "state".into()],
                rows: vec![vec!["0".into(), "running".into()], vec!["10".into(), "<crashed>".into()]],
            })
            .code("a < b && c > d")
            .button("Restart", "restart", "latte", ButtonStyle::Danger)
            .footer("demo")
    }

    fn callback_data(k: &InlineKeyboardMarkup) -> Vec<String> {
        k.inline_keyboard
            .iter()
            .flatten()
            .filter_map(|b| match &b.kind {
                teloxide::types::InlineKeyboardButtonKind::CallbackData(d) => Some(d.clone()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn renders_escaped_html() {
        let r = render(&health(), &Callbacks::default());
        assert_eq!(
            r.html,
            "✅ <b>latte is &lt;b&gt;healthy&lt;/b&gt; &amp; fine</b>\n<b>State:</b> running\n\n\
             <pre>#   state\n──  ─────────\n0   running\n10  &lt;crashed&gt;</pre>\n\n\
             <pre>a &lt; b &amp;&amp; c &gt; d</pre>\n\n<i>demo</i>"
        );
        let k = r.keyboard.expect("buttons");
        assert_eq!(callback_data(&k), ["restart latte"]);
        assert_eq!(k.inline_keyboard[0][0].text, "⚠️ Restart");
        assert!(r.document.is_none() && r.photo.is_none());
    }

    #[test]
    fn long_callbacks_are_stored_under_a_short_id() {
        let c = Callbacks::new(2);
        let long = "x".repeat(200);
        let id = c.encode("run", &long);
        assert!(id.len() <= MAX_CALLBACK_DATA && id.starts_with('#'), "{id}");
        assert_eq!(c.encode("run", &long), id, "the same click reuses its id");
        assert_eq!(c.decode(&id), Some(Click { action: "run".into(), payload: long.clone() }));
        assert_eq!(c.decode("logs latte"), Some(Click { action: "logs".into(), payload: "latte".into() }));
        c.encode("run", "y".repeat(100).as_str());
        c.encode("run", "z".repeat(100).as_str());
        assert_eq!(c.decode(&id), None, "the oldest is dropped past the capacity");
        assert_eq!(c.decode("#zz"), None);
        assert_eq!(c.decode(""), None);
    }

    #[test]
    fn long_logs_are_cut_between_lines_with_a_note_and_a_document() {
        let log: Vec<String> = (0..2000).map(|i| format!("line {i} <tag> & more")).collect();
        let card = Card::new("logs", Status::Ok).code(log.join("\n")).footer("from loki");
        let r = render(&card, &Callbacks::default());
        assert!(units(&r.html) <= MAX_MESSAGE, "{}", units(&r.html));
        assert!(r.html.contains("</pre>\n<i>… (cut: "), "{}", &r.html[r.html.len() - 200..]);
        assert!(r.html.ends_with("<i>from loki</i>"));
        assert!(r.cut_lines > 1000);
        assert!(r.html.contains(&format!("(cut: {} more lines", r.cut_lines)));
        assert_eq!(r.html.matches("<pre>").count(), r.html.matches("</pre>").count());
        assert!(!r.html.contains("&am\n") && !r.html.contains("&lt\n"));
        let doc = r.document.expect("the full card as a file");
        assert!(doc.text.contains("line 1999 <tag> & more"));
    }

    #[test]
    fn one_huge_line_is_cut_without_splitting_an_entity() {
        let card = Card::new("x", Status::Ok).code("&".repeat(10_000));
        let r = render_within(&card, &Callbacks::default(), 200);
        assert!(units(&r.html) <= 200, "{}", r.html);
        assert!(r.html.contains("&amp;…</pre>"), "{}", r.html);
        assert!(r.html.contains("(cut: 1 more line;"), "{}", r.html);
    }

    #[test]
    fn images_become_photos_with_the_alt_as_caption() {
        let mut card = Card::new("graph", Status::Ok);
        card.image = Some(Image { png: vec![1, 2], alt: "cpu < 50%".into(), file_name: "cpu.png".into() });
        let r = render(&card, &Callbacks::default());
        let p = r.photo.expect("photo");
        assert_eq!(p.caption, "cpu &lt; 50%");
        assert_eq!(p.file_name, "cpu.png");
    }
}
