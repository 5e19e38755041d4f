//! The platform-neutral rich reply. Adapters render it (console, JSON, Slack Block Kit,
//! Telegram HTML); skills never know which platform they answer on.

use serde::{Deserialize, Serialize};

/// Overall state shown by colour or emoji.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// All good.
    Ok,
    /// Degraded, worth a look.
    Warning,
    /// Broken.
    Critical,
    /// Not known (backend down, nothing measured).
    Unknown,
}

/// A table: header and rows of equal width.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Table {
    /// Column names.
    pub header: Vec<String>,
    /// Rows; each has `header.len()` cells.
    pub rows: Vec<Vec<String>>,
}

/// A block of body text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Block {
    /// Prose.
    Text {
        /// The text.
        text: String,
    },
    /// Preformatted text (logs), shown in monospace.
    Code {
        /// The text.
        text: String,
    },
}

/// A PNG image with its alternative text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Image {
    /// PNG bytes.
    #[serde(skip_serializing)]
    #[serde(default)]
    pub png: Vec<u8>,
    /// What the image shows, for screen readers and text-only renderers.
    pub alt: String,
    /// A file name to use when the image is saved or uploaded.
    pub file_name: String,
}

/// How a button looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ButtonStyle {
    /// Neutral.
    Default,
    /// The suggested action.
    Primary,
    /// Destructive or risky.
    Danger,
}

/// A button: clicking it sends `action` with `payload` back to the core as the clicker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Button {
    /// Label shown.
    pub label: String,
    /// Action name (`confirm`, `cancel`, `refresh`, `restart`, ...).
    pub action: String,
    /// Opaque payload the action needs (a service name, a pending-action id).
    pub payload: String,
    /// Look.
    pub style: ButtonStyle,
}

/// The rich reply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Card {
    /// Title line.
    pub title: String,
    /// Overall status.
    pub status: Status,
    /// Key-value fields, in order.
    pub fields: Vec<(String, String)>,
    /// An optional table.
    pub table: Option<Table>,
    /// Body blocks, in order.
    pub blocks: Vec<Block>,
    /// An optional image.
    pub image: Option<Image>,
    /// Buttons.
    pub buttons: Vec<Button>,
    /// Small print under the card (source, time).
    pub footer: Option<String>,
}

impl Card {
    /// A card with a title and status and nothing else.
    pub fn new(title: impl Into<String>, status: Status) -> Self {
        Card {
            title: title.into(),
            status,
            fields: Vec::new(),
            table: None,
            blocks: Vec::new(),
            image: None,
            buttons: Vec::new(),
            footer: None,
        }
    }

    /// Adds a key-value field.
    pub fn field(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.fields.push((key.into(), value.into()));
        self
    }

    /// Adds a prose block.
    pub fn text(mut self, text: impl Into<String>) -> Self {
        self.blocks.push(Block::Text { text: text.into() });
        self
    }

    /// Adds a code block.
    pub fn code(mut self, text: impl Into<String>) -> Self {
        self.blocks.push(Block::Code { text: text.into() });
        self
    }

    /// Adds a button.
    pub fn button(
        mut self,
        label: impl Into<String>,
        action: &str,
        payload: impl Into<String>,
        style: ButtonStyle,
    ) -> Self {
        self.buttons.push(Button { label: label.into(), action: action.into(), payload: payload.into(), style });
        self
    }

    /// Sets the footer.
    pub fn footer(mut self, footer: impl Into<String>) -> Self {
        self.footer = Some(footer.into());
        self
    }

    /// Sets the table.
    pub fn table(mut self, table: Table) -> Self {
        self.table = Some(table);
        self
    }

    /// Sets the image.
    pub fn image(mut self, image: Image) -> Self {
        self.image = Some(image);
        self
    }

    /// Value of the first field with this key.
    pub fn field_value(&self, key: &str) -> Option<&str> {
        self.fields.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }
}
