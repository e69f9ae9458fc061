//! costcarve-aws's integration tests, one binary (linking the AWS SDK once):
//! each adapter over HTTP against the emulators, and the OS keyring.

mod support;

mod athena;
mod billing_views;
mod cost_explorer;
mod keyring;
mod provision;
