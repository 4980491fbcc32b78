//! Reusable view pieces.

pub mod field;
pub mod form;
pub mod icons;
pub mod layout;
pub mod time;
