//! graphedge edge: the only crate that knows HTTP.
