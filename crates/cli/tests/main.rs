//! The `costcarve` binary's end-to-end tests, one test binary: the local
//! workspace (`cli`) and a payer on the emulators (`aws`).

#[path = "../../aws/tests/support/mod.rs"]
mod support;

mod aws;
mod cli;
mod hardening;
mod onboarding;
mod review;
