//! The `costcarve` binary's end-to-end tests, one test binary: the local
//! workspace (`cli`) and a payer on the emulators (`aws`).

mod aws;
mod cli;
mod hardening;
