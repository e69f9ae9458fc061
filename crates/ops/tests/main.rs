//! The desktop's operations without a window, one test binary: on the local
//! demo workspace (`local`) and on a payer on the emulators (`aws`).

#[path = "../../aws/tests/support/mod.rs"]
mod support;

mod aws;
mod local;
