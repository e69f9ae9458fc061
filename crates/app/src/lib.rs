//! The desktop app's operations without a window. A [`Session`] knows which
//! workspace is open (the local demo, a local CUR folder, or a payer through
//! a connection) and answers each screen with plain IPC types (`specta`
//! derives them into TypeScript). The Tauri shell calls one method per
//! command; everything here is tested without a window.
#![deny(missing_docs)]

mod error;
mod ipc;
mod session;

pub use error::{AppError, IpcError};
pub use ipc::*;
pub use session::{Dirs, Session};
