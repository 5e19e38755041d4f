//! pipilu's skills: one file per skill, the platform-neutral [`card::Card`], the
//! backend traits skills reach the world through, and the in-process demo estate.

pub mod backends;
pub mod card;
pub(crate) mod chart;
pub mod demo;
pub mod drivers;
pub mod format;
pub mod skill;
pub mod skills;

pub use backends::{BackendError, Backends};
pub use card::{Block, Button, ButtonStyle, Card, Image, Status, Table};
pub use demo::DemoEstate;
pub use skill::{Request, Risk, Skill, SkillError, Window};
pub use skills::registry;
