//! CostCarve's operations, written once for the CLI and the desktop app.
//! [`Workspace`] is the only place that knows whether a workspace is a local
//! folder or a payer on AWS; [`chart`] turns a chart request into a cost
//! query and a title; [`connections`] adds, lists, tests and removes
//! connections; [`Session`] is the desktop's state (one open workspace) and
//! answers each screen with the IPC types of [`ipc`]. Everything here is
//! tested without a window.
#![deny(missing_docs)]

pub mod chart;
pub mod connections;
pub mod demo;
mod dirs;
mod error;
pub mod ipc;
pub mod onboarding;
pub mod review;
mod session;
pub mod workspace;

pub use dirs::Dirs;
pub use error::{IpcError, OpsError};
pub use ipc::*;
pub use session::Session;
pub use workspace::Workspace;

/// Re-exported so callers name the product's types through this crate.
pub use costcarve_core as core;
