//! The pages of the app, one module per route.

pub mod asset;
pub mod graph;
pub mod search;
