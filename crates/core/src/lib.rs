//! CostCarve's headless core: the nouns (accounts, organizations, virtual
//! integrations, cost queries) and verbs (validate, create, update, delete,
//! confine a user's SQL to one integration) of the product. No GUI, no cloud
//! SDK and no query engine live here: adapters implement the ports in
//! [`ports`].
#![deny(missing_docs)]

pub mod account;
pub mod cost;
pub mod engine_error;
pub mod error;
pub mod files;
pub mod guard;
pub mod integration;
pub mod membership;
pub mod ports;
pub mod presentation;
pub mod query;
pub mod verification;
pub mod view_definition;
