//! The customer review pack: one customer's month on the MSP's chosen cost
//! basis, as pages. The same [`ReviewPack`] is written as a PDF (vector
//! charts, fonts embedded), one PNG per chart and one CSV per table, and is
//! walked page by page as slides in the desktop's Present mode.
//!
//! The pack is built (by the operations layer) from the integration's own
//! cost answers and the names of its own accounts only; this crate adds no
//! figure and reads nothing else, so what it writes can hold nothing of any
//! other customer.
#![deny(missing_docs)]

mod face;
mod model;
mod pdf;
mod write;

pub use model::{KeyFigure, PackChart, PackPage, PackTable, ReviewPack};
pub use write::{file_stem, pdf_bytes, write, ReviewError, Written};
