//! graphedge native process.
pub mod pgtemp;
