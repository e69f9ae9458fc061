//! One module per command: parse what the flags left as text, call one
//! operation, print its answer.

pub(crate) mod accounts;
pub(crate) mod chart;
pub(crate) mod connection;
pub(crate) mod cost;
pub(crate) mod demo;
pub(crate) mod forecast;
pub(crate) mod onboarding;
pub(crate) mod review;
pub(crate) mod sql;
pub(crate) mod verify;
pub(crate) mod vi;
