//! Cards as terminal text: a status badge, aligned fields and tables, indented
//! code, images saved to files, and buttons with how to press them. Colour is
//! ANSI and only when wanted; every string from a card is cleaned of control
//! characters so backend data cannot drive the terminal.

use crate::core::Reply;
use crate::render::ImageStore;
use skills::{Block, Button, ButtonStyle, Card, Status, Table};
use std::fmt::Write as _;
use std::io::IsTerminal;

/// How buttons are shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ButtonHints {
    /// `[Restart] /1`: numbered commands typed in `pipilu chat`.
    Numbered,
    /// `[Restart] pipilu ask --action restart --payload latte`: the command that clicks it.
    Command,
}

/// When to use colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ColorChoice {
    /// When stdout is a terminal and `NO_COLOR` is not set.
    #[default]
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

impl ColorChoice {
    /// Whether to colour stdout.
    pub fn enabled(self) -> bool {
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stdout().is_terminal()
            }
        }
    }
}

/// The console renderer.
#[derive(Debug)]
pub struct Console {
    color: bool,
    hints: ButtonHints,
    images: ImageStore,
}

const RESET: &str = "\x1b[0m";
const BOLD: &str = "\x1b[1m";
const DIM: &str = "\x1b[2m";
const RED: &str = "\x1b[31m";
const GREEN: &str = "\x1b[32m";
const YELLOW: &str = "\x1b[33m";
const CYAN: &str = "\x1b[36m";

/// Replaces control characters (ESC, BEL, ...) by spaces; keeps newlines when `multiline`, expands tabs.
fn clean(s: &str, multiline: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\n' if multiline => out.push('\n'),
            '\t' => out.push_str("    "),
            c if c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}') => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

fn width(s: &str) -> usize {
    s.chars().count()
}

/// Quotes a word for a POSIX shell when it needs it.
fn shell_quote(s: &str) -> String {
    if !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_./:=?&%".contains(c)) {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

impl Console {
    /// A renderer; `color` from [`ColorChoice::enabled`], images written to `images`.
    pub fn new(color: bool, hints: ButtonHints, images: ImageStore) -> Self {
        Console { color, hints, images }
    }

    fn paint(&self, out: &mut String, style: &str, text: &str) {
        if self.color && !style.is_empty() {
            out.push_str(style);
            out.push_str(text);
            out.push_str(RESET);
        } else {
            out.push_str(text);
        }
    }

    /// Renders a reply; returns the text and its buttons in the order they are numbered (from 1).
    pub fn render_reply(&self, reply: &Reply) -> (String, Vec<Button>) {
        let mut out = String::new();
        let mut buttons = Vec::new();
        for (i, card) in reply.cards.iter().enumerate() {
            if i > 0 {
                out.push('\n');
            }
            self.render_card(card, &mut out, &mut buttons);
        }
        (out, buttons)
    }

    /// Renders one card into `out`; its buttons are appended to `buttons` and numbered after those already there.
    pub fn render_card(&self, card: &Card, out: &mut String, buttons: &mut Vec<Button>) {
        let (badge, colour) = match card.status {
            Status::Ok => ("✔ OK", GREEN),
            Status::Warning => ("▲ WARN", YELLOW),
            Status::Critical => ("✖ CRIT", RED),
            Status::Unknown => ("?", CYAN),
        };
        self.paint(out, &format!("{BOLD}{colour}"), badge);
        out.push_str("  ");
        self.paint(out, BOLD, &clean(&card.title, false));
        out.push('\n');
        self.fields(card, out);
        if let Some(t) = &card.table {
            self.table(t, out);
        }
        for block in &card.blocks {
            match block {
                Block::Text { text } => {
                    for line in clean(text, true).lines() {
                        let _ = writeln!(out, "  {line}");
                    }
                }
                Block::Code { text } => {
                    for line in clean(text, true).lines() {
                        out.push_str("    ");
                        self.paint(out, DIM, "│");
                        let _ = writeln!(out, " {line}");
                    }
                }
            }
        }
        if let Some(img) = &card.image {
            let alt = clean(&img.alt, false);
            match self.images.save(img) {
                Ok(path) => {
                    out.push_str("  ");
                    self.paint(out, CYAN, "image");
                    let _ = writeln!(out, " {alt}: {}", path.display());
                }
                Err(e) => {
                    let _ = writeln!(out, "  image {alt}: could not be saved ({e})");
                }
            }
        }
        self.buttons(&card.buttons, out, buttons);
        if let Some(f) = card.footer.as_deref().filter(|f| !f.is_empty()) {
            out.push_str("  ");
            self.paint(out, DIM, &clean(f, false));
            out.push('\n');
        }
    }

    fn fields(&self, card: &Card, out: &mut String) {
        let keys: Vec<String> = card.fields.iter().map(|(k, _)| clean(k, false)).collect();
        let w = keys.iter().map(|k| width(k)).max().unwrap_or(0);
        for (key, (_, value)) in keys.iter().zip(&card.fields) {
            out.push_str("  ");
            self.paint(out, DIM, &format!("{key:<w$}"));
            let _ = writeln!(out, "  {}", clean(value, false));
        }
    }

    fn table(&self, t: &Table, out: &mut String) {
        let header: Vec<String> = t.header.iter().map(|h| clean(h, false)).collect();
        let rows: Vec<Vec<String>> = t.rows.iter().map(|r| r.iter().map(|c| clean(c, false)).collect()).collect();
        let cols = header.len().max(rows.iter().map(Vec::len).max().unwrap_or(0));
        let mut widths = vec![0usize; cols];
        for row in std::iter::once(&header).chain(&rows) {
            for (i, cell) in row.iter().enumerate() {
                widths[i] = widths[i].max(width(cell));
            }
        }
        let line = |cells: &[String]| -> String {
            let mut s = String::new();
            for (i, w) in widths.iter().enumerate() {
                let cell = cells.get(i).map_or("", String::as_str);
                if i + 1 == cols {
                    s.push_str(cell);
                } else {
                    let _ = write!(s, "{cell}{}  ", " ".repeat(w.saturating_sub(width(cell))));
                }
            }
            s.trim_end().to_string()
        };
        if !header.is_empty() {
            out.push_str("  ");
            self.paint(out, BOLD, &line(&header));
            out.push('\n');
            let rule: Vec<String> = widths.iter().map(|w| "─".repeat(*w)).collect();
            out.push_str("  ");
            self.paint(out, DIM, &line(&rule));
            out.push('\n');
        }
        for row in &rows {
            let _ = writeln!(out, "  {}", line(row));
        }
    }

    fn buttons(&self, card_buttons: &[Button], out: &mut String, buttons: &mut Vec<Button>) {
        if card_buttons.is_empty() {
            return;
        }
        match self.hints {
            ButtonHints::Numbered => {
                out.push(' ');
                for b in card_buttons {
                    buttons.push(b.clone());
                    out.push(' ');
                    self.button_label(b, out);
                    out.push(' ');
                    self.paint(out, DIM, &format!("/{}", buttons.len()));
                    out.push(' ');
                }
                while out.ends_with(' ') {
                    out.pop();
                }
                out.push('\n');
            }
            ButtonHints::Command => {
                for b in card_buttons {
                    buttons.push(b.clone());
                    out.push_str("  ");
                    self.button_label(b, out);
                    out.push_str("  ");
                    let cmd = format!(
                        "pipilu ask --action {} --payload {}",
                        shell_quote(&clean(&b.action, false)),
                        shell_quote(&clean(&b.payload, false))
                    );
                    self.paint(out, DIM, &cmd);
                    out.push('\n');
                }
            }
        }
    }

    fn button_label(&self, b: &Button, out: &mut String) {
        let style = match b.style {
            ButtonStyle::Primary => CYAN,
            ButtonStyle::Danger => RED,
            ButtonStyle::Default => "",
        };
        self.paint(out, style, &format!("[{}]", clean(&b.label, false)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::Outcome;
    use skills::Image;

    fn console(hints: ButtonHints) -> Console {
        Console::new(false, hints, ImageStore::new(Some(std::env::temp_dir().join("pipilu-render-test"))))
    }

    fn card() -> Card {
        Card::new("latte is \x1b[31mhealthy", Status::Ok)
            .field("State", "running")
            .field("Instances", "2/2")
            .table(Table {
                header: vec!["#".into(), "state".into(), "cpu".into()],
                rows: vec![vec!["0".into(), "running".into(), "12%".into()], vec!["1".into(), "crashed".into()]],
            })
            .code("line one\nline\ttwo")
            .button("Restart", "restart", "latte", ButtonStyle::Danger)
            .button("Logs", "logs", "latte o'clock", ButtonStyle::Default)
            .footer("demo")
    }

    #[test]
    fn renders_aligned_plain_text() {
        let reply = Reply::one(Outcome::Ran { intent: "health_check".into() }, card());
        let (text, buttons) = console(ButtonHints::Numbered).render_reply(&reply);
        let expected = "✔ OK  latte is  [31mhealthy
  State      running
  Instances  2/2
  #  state    cpu
  ─  ───────  ───
  0  running  12%
  1  crashed
    │ line one
    │ line    two
  [Restart] /1  [Logs] /2
  demo
";
        assert_eq!(text, expected);
        assert_eq!(buttons.len(), 2);
        assert!(!text.contains('\x1b'));
    }

    #[test]
    fn command_hints_are_shell_quoted() {
        let reply = Reply::one(Outcome::Ran { intent: "health_check".into() }, card());
        let (text, _) = console(ButtonHints::Command).render_reply(&reply);
        assert!(text.contains("[Restart]  pipilu ask --action restart --payload latte\n"), "{text}");
        assert!(text.contains("--payload 'latte o'\\''clock'"), "{text}");
    }

    #[test]
    fn colour_only_when_asked() {
        let c = Console::new(true, ButtonHints::Numbered, ImageStore::new(None));
        let (text, _) = c.render_reply(&Reply::one(Outcome::Declined, Card::new("hi", Status::Warning)));
        assert!(text.contains("\x1b[1m"));
    }

    #[test]
    fn images_are_saved() {
        let mut c = Card::new("graph", Status::Ok);
        c.image = Some(Image { png: vec![0x89, b'P', b'N', b'G'], alt: "cpu".into(), file_name: "x.png".into() });
        let (text, _) = console(ButtonHints::Numbered).render_reply(&Reply::one(Outcome::Declined, c));
        let path = text.trim().rsplit(": ").next().unwrap_or_default().to_string();
        assert_eq!(std::fs::read(&path).ok(), Some(vec![0x89, b'P', b'N', b'G']), "{text}");
        let _ = std::fs::remove_file(path);
    }
}
