//! Cleans raw chat text before the NLU sees it: bounded length, no control
//! characters, single spaces. Whatever arrives, the result is safe to parse and echo.

/// Longest message kept, in bytes; the NLU reads less than this anyway, so the cut bounds work on huge pastes.
pub const MAX_MESSAGE_BYTES: usize = 4096;

/// Cuts `text` to at most `max` bytes at a char boundary.
pub fn cut(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while end > 0 && !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// True for characters that must not reach the NLU or a terminal: C0/C1 controls,
/// zero-width and bidirectional-override marks.
fn is_invisible(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
}

/// Normalises a message: cut to [`MAX_MESSAGE_BYTES`], control characters become
/// spaces, runs of whitespace collapse to one space, ends trimmed.
pub fn normalise(text: &str) -> String {
    let text = cut(text, MAX_MESSAGE_BYTES);
    let mut out = String::with_capacity(text.len());
    let mut space = false;
    for c in text.chars() {
        if c.is_whitespace() || is_invisible(c) {
            space = !out.is_empty();
        } else {
            if space {
                out.push(' ');
                space = false;
            }
            out.push(c);
        }
    }
    out
}

/// Makes a short, printable quote of user text for a reply ("I don't know the button 'x'").
pub fn quote(text: &str, max_chars: usize) -> String {
    let clean = normalise(text);
    let mut out: String = clean.chars().take(max_chars).collect();
    if clean.chars().count() > max_chars {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collapses_whitespace_and_controls() {
        assert_eq!(normalise("  restart\t\tlatte \n"), "restart latte");
        assert_eq!(normalise("check\u{0}\u{7}latte\u{1b}[31m"), "check latte [31m");
        assert_eq!(normalise("\u{202E}check\u{200B}latte"), "check latte");
        assert_eq!(normalise(""), "");
        assert_eq!(normalise(" \n\t "), "");
    }

    #[test]
    fn cuts_long_text_at_char_boundary() {
        let long = "é".repeat(100_000);
        let n = normalise(&long);
        assert!(n.len() <= MAX_MESSAGE_BYTES);
        assert!(n.chars().all(|c| c == 'é'));
    }

    #[test]
    fn quote_is_short() {
        assert_eq!(quote("abcdef", 3), "abc…");
        assert_eq!(quote("ab\ncd", 10), "ab cd");
    }
}
