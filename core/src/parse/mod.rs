//! GraphQL executable-document parser: text → [`ast::Document`]. Hand-written, no_std, never
//! panics, bounded nesting depth (deep documents are rejected, not overflowed).
pub mod ast;
