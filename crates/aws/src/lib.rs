//! CostCarve's AWS adapters: the only crate that imports `aws-sdk-*`.
//! Narrow functions that take and return the product's types, with AWS
//! errors classified into [`AwsError`]. So far: custom billing views, the
//! Cost Explorer scope of a virtual integration.
#![deny(missing_docs)]

pub mod athena;
pub mod billing;
pub mod cost_explorer;
mod error;
pub mod provision;

pub use error::AwsError;
