//! CostCarve's AWS adapters: the only crate that imports `aws-sdk-*`.
//! Narrow functions that take and return the product's types, with AWS
//! errors classified into [`AwsError`]: connections and their secrets in the
//! OS keyring, the prerequisites check, organization discovery, billing
//! views, Athena views and queries, Cost Explorer through a billing view,
//! resource shares of billing views (RAM), and [`AwsWorkspace`], which puts
//! them together for one payer.
#![deny(missing_docs)]

pub mod athena;
pub mod billing;
pub mod catalog;
pub mod connection;
pub mod cost_cache;
pub mod cost_explorer;
mod error;
pub mod org;
pub mod prereqs;
pub mod provision;
pub mod ram;
pub mod secrets;
pub mod state;
pub mod workspace;

pub use error::AwsError;
pub use workspace::{AwsWorkspace, WorkspaceError};
