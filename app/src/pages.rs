//! The pages of the app, one module per route.

pub mod account;
pub mod asset;
pub mod audit;
pub mod change_request;
pub mod graph;
pub mod history;
pub mod inbox;
pub mod ingestion;
pub mod propose;
pub mod scaling;
pub mod search;
pub mod signin;
