//! Words that change what a command asks for without changing its intent:
//! "**don't** restart latte", "check **or** restart latte", "**别**重启 latte",
//! "**should I** restart latte?", "**unsilence** HighCPU", "**取消**重启".
//!
//! The intent model reads these as `restart_service`: every other word is a
//! restart request's, and negation is one token among many. They are found
//! here by rule, not learnt, because the check is a safety one: whether the
//! bot may act must not depend on what the training data happened to contain.
//! The parse reports them; the bot's policy decides what they mean (a change
//! is never run on a sentence that has one; it is offered as a button).

use crate::tokenize::Token;
use serde::Serialize;

/// What kind of word was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CueKind {
    /// An imperative negation: "don't", "do not", "never", "no need to", "不要", "别".
    Negation,
    /// Alternatives offered: "or", "either", "或者", "A 还是 B".
    Alternative,
    /// A question about the action, not a request for it: "should I", "is it
    /// safe to", "how do I", "why", "要不要", "怎么".
    Question,
    /// The action undone or called off: "unsilence", "unmute", "undo", "取消", "解除".
    Reversal,
}

/// One cue, with the words as written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Cue {
    /// What it is.
    pub kind: CueKind,
    /// The words as written.
    pub raw: String,
    /// Byte span in the parsed text.
    pub span: (usize, usize),
}

/// Token sequences (normalised forms) that are cues. State negations ("not
/// responding", "isn't", "can't connect") are left out on purpose: they
/// describe the problem in a real restart request, not the request itself.
const PATTERNS: &[(CueKind, &[&str])] = &[
    (CueKind::Negation, &["don't"]),
    (CueKind::Negation, &["don’t"]),
    (CueKind::Negation, &["dont"]),
    (CueKind::Negation, &["do", "not"]),
    (CueKind::Negation, &["never"]),
    (CueKind::Negation, &["no", "need"]),
    (CueKind::Negation, &["not", "to"]),
    (CueKind::Negation, &["shouldn't"]),
    (CueKind::Negation, &["shouldn’t"]),
    (CueKind::Negation, &["should", "not"]),
    (CueKind::Negation, &["mustn't"]),
    (CueKind::Negation, &["must", "not"]),
    (CueKind::Negation, &["不", "要"]),
    (CueKind::Negation, &["不", "用"]),
    (CueKind::Negation, &["不", "必"]),
    (CueKind::Negation, &["不", "需"]),
    (CueKind::Negation, &["不", "能"]),
    (CueKind::Negation, &["不", "准"]),
    (CueKind::Negation, &["不", "许"]),
    (CueKind::Negation, &["无", "需"]),
    (CueKind::Negation, &["禁", "止"]),
    (CueKind::Negation, &["勿"]),
    (CueKind::Negation, &["甭"]),
    (CueKind::Negation, &["别"]),
    // Questions first where they contain a negation pattern: 要不要, 需不需要.
    (CueKind::Question, &["要", "不", "要"]),
    (CueKind::Question, &["需", "不", "需", "要"]),
    (CueKind::Question, &["用", "不", "用"]),
    (CueKind::Question, &["该", "不", "该"]),
    (CueKind::Question, &["应", "不", "应", "该"]),
    (CueKind::Question, &["是", "否"]),
    (CueKind::Question, &["怎", "么"]),
    (CueKind::Question, &["如", "何"]),
    (CueKind::Question, &["为", "什", "么"]),
    (CueKind::Question, &["为", "啥"]),
    (CueKind::Question, &["should", "i"]),
    (CueKind::Question, &["should", "we"]),
    (CueKind::Question, &["shall", "i"]),
    (CueKind::Question, &["shall", "we"]),
    (CueKind::Question, &["do", "i", "need"]),
    (CueKind::Question, &["do", "we", "need"]),
    (CueKind::Question, &["do", "i", "have"]),
    (CueKind::Question, &["do", "we", "have"]),
    (CueKind::Question, &["is", "it", "safe"]),
    (CueKind::Question, &["is", "it", "ok"]),
    (CueKind::Question, &["is", "it", "okay"]),
    (CueKind::Question, &["would", "it", "help"]),
    (CueKind::Question, &["what", "if"]),
    (CueKind::Question, &["what", "happens"]),
    (CueKind::Question, &["how", "do"]),
    (CueKind::Question, &["how", "to"]),
    (CueKind::Question, &["how", "can"]),
    (CueKind::Question, &["can", "i"]),
    (CueKind::Question, &["why"]),
    (CueKind::Question, &["whether"]),
    (CueKind::Reversal, &["unsilence"]),
    (CueKind::Reversal, &["un-silence"]),
    (CueKind::Reversal, &["unmute"]),
    (CueKind::Reversal, &["un-mute"]),
    (CueKind::Reversal, &["undo"]),
    (CueKind::Reversal, &["revert"]),
    (CueKind::Reversal, &["cancel"]),
    (CueKind::Reversal, &["取", "消"]),
    (CueKind::Reversal, &["解", "除"]),
    (CueKind::Reversal, &["撤", "销"]),
    (CueKind::Alternative, &["or"]),
    (CueKind::Alternative, &["either"]),
    (CueKind::Alternative, &["或"]),
    (CueKind::Alternative, &["还", "是"]),
];

/// "别" is also part of words that are not "don't": 特别 (especially), 区别
/// (difference), 分别, 类别, 识别, 级别, 性别, 个别, and 别的/别人 ("other").
fn is_bie_in_a_word(tokens: &[Token], i: usize) -> bool {
    let before = i.checked_sub(1).map(|j| tokens[j].norm.as_str());
    let after = tokens.get(i + 1).map(|t| t.norm.as_str());
    matches!(before, Some("特" | "区" | "分" | "类" | "识" | "级" | "性" | "个" | "告" | "差"))
        || matches!(after, Some("的" | "人" | "处"))
}

/// "还是" is "or" between choices ("重启 latte 还是 payments") but "still" before
/// a state ("latte 还是不行", "还是很慢", "还是挂了"): those are the problem a
/// real request describes. Any other use ("还是重启吧", "better restart") is
/// kept as a cue: a wrong "or" costs one click, a missed one a guess.
fn is_haishi_still(tokens: &[Token], i: usize) -> bool {
    let after = tokens.get(i + 2).map(|t| t.norm.as_str());
    matches!(
        after,
        Some(
            "不" | "没"
                | "很"
                | "挺"
                | "太"
                | "一"
                | "有"
                | "在"
                | "会"
                | "卡"
                | "挂"
                | "慢"
                | "报"
                | "超"
                | "连"
                | "起"
                | "失"
                | "出"
                | "那"
                | "这"
                | "老"
        )
    )
}

/// Whether the words at `i` spell a pattern but, by their neighbours, mean something else.
fn is_false_hit(words: &[&str], tokens: &[Token], i: usize) -> bool {
    match words {
        ["别"] => is_bie_in_a_word(tokens, i),
        ["还", "是"] => is_haishi_still(tokens, i),
        _ => false,
    }
}

/// The cues in `tokens` (of `text`), in text order.
pub fn find(text: &str, tokens: &[Token]) -> Vec<Cue> {
    let mut cues = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        let hit = PATTERNS.iter().find(|(_, words)| {
            tokens.get(i..i + words.len()).is_some_and(|w| w.iter().zip(words.iter()).all(|(t, p)| t.norm == *p))
        });
        match hit {
            Some((kind, words)) if !is_false_hit(words, tokens, i) => {
                let (start, end) = (tokens[i].start, tokens[i + words.len() - 1].end);
                cues.push(Cue { kind: *kind, raw: text[start..end].to_string(), span: (start, end) });
                i += words.len();
            }
            _ => i += 1,
        }
    }
    cues
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tokenize::tokenize;

    fn kinds(text: &str) -> Vec<(CueKind, String)> {
        find(text, &tokenize(text)).into_iter().map(|c| (c.kind, c.raw)).collect()
    }

    #[test]
    fn negated_and_alternative_commands_are_found() {
        use CueKind::{Alternative, Negation};
        assert_eq!(kinds("do not restart latte"), vec![(Negation, "do not".into())]);
        assert_eq!(kinds("Don't restart latte"), vec![(Negation, "Don't".into())]);
        assert_eq!(kinds("please dont bounce payments"), vec![(Negation, "dont".into())]);
        assert_eq!(kinds("latte should not be restarted"), vec![(Negation, "should not".into())]);
        assert_eq!(kinds("check or restart latte"), vec![(Alternative, "or".into())]);
        assert_eq!(kinds("别重启 latte"), vec![(Negation, "别".into())]);
        assert_eq!(kinds("不要重启 payments"), vec![(Negation, "不要".into())]);
        assert_eq!(kinds("重启 latte 或 payments"), vec![(Alternative, "或".into())]);
        assert_eq!(kinds("重启 latte 还是 payments？"), vec![(Alternative, "还是".into())]);
        assert_eq!(kinds("检查一下还是重启 latte"), vec![(Alternative, "还是".into())]);
    }

    #[test]
    fn questions_about_an_action_and_reversals_are_found() {
        use CueKind::{Question, Reversal};
        assert_eq!(kinds("should I restart latte?"), vec![(Question, "should I".into())]);
        assert_eq!(kinds("is it safe to bounce payments now"), vec![(Question, "is it safe".into())]);
        assert_eq!(kinds("how do I restart latte"), vec![(Question, "how do".into())]);
        assert_eq!(kinds("why restart latte"), vec![(Question, "why".into())]);
        // 要不要 is one question, not the negation 不要 inside it.
        assert_eq!(kinds("要不要重启 latte"), vec![(Question, "要不要".into())]);
        assert_eq!(kinds("需不需要重启 payments"), vec![(Question, "需不需要".into())]);
        assert_eq!(kinds("unsilence HighCPU"), vec![(Reversal, "unsilence".into())]);
        assert_eq!(kinds("unmute latte alerts"), vec![(Reversal, "unmute".into())]);
        assert_eq!(kinds("取消重启 latte"), vec![(Reversal, "取消".into())]);
        assert_eq!(kinds("解除 payments 的静默"), vec![(Reversal, "解除".into())]);
    }

    #[test]
    fn plain_commands_and_state_negations_have_none() {
        for text in [
            "restart latte",
            "latte is not responding, restart it",
            "payments isn't healthy, bounce it",
            "can't reach latte, restart please",
            "重启 latte",
            "latte 特别慢，重启一下",
            "重启别的服务",
            "latte 还是不行，重启一下",
            "payments 还是很慢，帮我重启",
            "latte 还是挂了，重启",
            "can you restart latte?",
            "could you please restart payments",
            "silence HighCPU for 1h",
            "",
        ] {
            assert!(kinds(text).is_empty(), "{text}: {:?}", kinds(text));
        }
    }

    #[test]
    fn spans_point_into_the_text() {
        let text = "ok, never restart 🚀 latte or payments";
        for cue in find(text, &tokenize(text)) {
            assert_eq!(&text[cue.span.0..cue.span.1], cue.raw);
        }
    }
}
