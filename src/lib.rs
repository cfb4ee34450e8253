//! Core of the Mattermost PagerDuty plugin.
//!
//! The Go plugin (in `go-shim/`) forwards every Mattermost hook to this crate
//! through the C ABI in [`ffi`], and performs the Mattermost API calls that
//! the core requests through the [`host::Host`] interface. Everything else
//! lives here: slash commands, the configure dialog, the OAuth 2.0
//! authorization code flow with PKCE, PagerDuty REST calls and the records
//! kept in the plugin's KV store.
#![deny(clippy::print_stdout, clippy::print_stderr)]

pub mod admin;
pub mod api;
pub mod client;
pub mod commands;
pub mod config;
pub mod core;
pub mod crypto;
pub mod dialog;
pub mod ffi;
pub mod host;
pub mod http;
pub mod links;
pub mod maintenance;
pub mod oauth;
pub mod pagerduty;
pub mod pages;
pub mod store;
pub mod testing;
pub mod text;
pub mod tokens;

pub use crate::core::{Core, CoreError};

/// Plugin id from `plugin.json`; plugin routes live under `/plugins/{PLUGIN_ID}`.
pub const PLUGIN_ID: &str = "mattermost-pagerduty";

/// Version from `plugin.json`, sent as part of the HTTP User-Agent.
pub const PLUGIN_VERSION: &str = env!("CARGO_PKG_VERSION");
