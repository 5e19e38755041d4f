//! "help" / "你能做什么": what the user can ask, with examples in English and Chinese.

use crate::backends::Backends;
use crate::card::{Card, Status};
use crate::skill::{Request, Risk, Skill, SkillError};
use async_trait::async_trait;

/// One thing pipilu does, and how to ask for it.
struct Topic {
    what: &'static str,
    english: &'static [&'static str],
    chinese: &'static [&'static str],
}

/// Examples are sentences the NLU training data covers, so they work as typed.
const TOPICS: &[Topic] = &[
    Topic {
        what: "Service health",
        english: &["is latte ok?", "is payments-api up"],
        chinese: &["latte 正常吗？", "看看 payments 状态"],
    },
    Topic { what: "Restart a service (asks to confirm)", english: &["restart latte"], chinese: &["重启 latte"] },
    Topic {
        what: "Search logs",
        english: &["show payments errors from the last 15 min", "logs latte error 15m"],
        chinese: &["看一下 payments 最近十分钟的错误日志"],
    },
    Topic {
        what: "Dashboard snapshot",
        english: &["graf db loadbalancers:2 now-30m", "graph latte cpu"],
        chinese: &["给我看 loadbalancers 看板 最近半小时"],
    },
    Topic { what: "Firewall status", english: &["firewall status", "is fw-edge-2 ok?"], chinese: &["防火墙状态"] },
];

/// Understood, but without a backend yet; listed so nobody is surprised.
const NOT_YET: &str = "Alerts (list, ack, silence), incidents and the audit log are understood but not configured yet.";

/// Lists what pipilu can do.
#[derive(Debug, Clone, Copy, Default)]
pub struct Help;

#[async_trait]
impl Skill for Help {
    fn intent(&self) -> &'static str {
        "help"
    }

    fn required_slots(&self) -> &'static [&'static str] {
        &[]
    }

    fn risk(&self) -> Risk {
        Risk::Read
    }

    async fn run(&self, _req: &Request, _backends: &Backends) -> Result<Card, SkillError> {
        Ok(help_card())
    }
}

fn quoted(examples: &[&str]) -> String {
    examples.iter().map(|e| format!("“{e}”")).collect::<Vec<_>>().join(" · ")
}

fn help_card() -> Card {
    let mut card = Card::new("What I can do", Status::Ok).text(
        "Ask in plain words, in English or Chinese. I act only when I am sure; changes ask you to confirm first.",
    );
    for t in TOPICS {
        card = card.text(format!("{}: {} · {}", t.what, quoted(t.english), quoted(t.chinese)));
    }
    card.text(NOT_YET)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::card::Block;
    use crate::demo::testing::Fixture;

    #[tokio::test]
    async fn lists_every_skill_with_english_and_chinese_examples() {
        let fx = Fixture::new();
        let card = Help.run(&Request::default(), &fx.backends).await.unwrap();
        assert_eq!(card.title, "What I can do");
        let text: String = card
            .blocks
            .iter()
            .map(|b| match b {
                Block::Text { text } | Block::Code { text } => text.as_str(),
            })
            .collect::<Vec<_>>()
            .join("\n");
        for example in ["is latte ok?", "restart latte", "重启 latte", "graf db loadbalancers:2 now-30m", "防火墙状态"]
        {
            assert!(text.contains(example), "missing {example}");
        }
        assert!(text.contains("not configured yet"));
        // One line per skill, each with a Chinese example.
        let topics: Vec<&str> = text.lines().filter(|l| l.contains(": “")).collect();
        assert_eq!(topics.len(), 5);
        assert!(topics.iter().all(|l| l.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))));
    }
}
