//! costcarve-local's integration tests, one binary (linking DataFusion once):
//! the workspace's operations and the SQL escape suite.

mod escape;
mod hardening;
mod workspace;
