//! Reusable view pieces.

pub mod field;
pub mod form;
pub mod layout;
