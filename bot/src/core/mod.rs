//! The core: adapters hand it an [`Inbound`], it answers with a [`Reply`].
//!
//! Data flows one way: normalise, parse ([`nlu::Engine`]), decide ([`policy`]),
//! run the skill, and return its [`skills::Card`].

pub mod action;
pub mod inbound;
pub mod inventory;
pub mod normalise;
pub mod policy;
pub mod reply;
pub mod request;
pub mod router;

pub use inbound::{Content, Inbound, Platform, UserId};
pub use inventory::Inventory;
pub use policy::{Decision, Policy};
pub use reply::{Outcome, Reply};
pub use router::Core;
