//! Cards as JSON, for `pipilu ask --json` and scripts: the card's own shape,
//! with an image given as the path it was saved to and its alt text, never bytes.

use crate::core::Reply;
use crate::render::ImageStore;
use serde_json::{Value, json};
use skills::Card;

/// A card as JSON; its image, if any, is saved first and given as `path`.
pub fn card_json(card: &Card, images: &ImageStore) -> Value {
    let mut v = serde_json::to_value(card).unwrap_or_else(|e| json!({ "title": card.title, "error": e.to_string() }));
    if let Some(img) = &card.image
        && let Some(obj) = v.get_mut("image").and_then(Value::as_object_mut)
    {
        match images.save(img) {
            Ok(path) => {
                obj.insert("path".into(), Value::String(path.display().to_string()));
            }
            Err(e) => {
                obj.insert("path".into(), Value::Null);
                obj.insert("error".into(), Value::String(format!("could not save the image: {e}")));
            }
        }
        obj.insert("bytes".into(), json!(img.png.len()));
    }
    v
}

/// A reply as JSON: `{ "outcome": {...}, "cards": [...] }`.
pub fn reply_json(reply: &Reply, images: &ImageStore) -> Value {
    json!({
        "outcome": reply.outcome,
        "cards": reply.cards.iter().map(|c| card_json(c, images)).collect::<Vec<_>>(),
    })
}
