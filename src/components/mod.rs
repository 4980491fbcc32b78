//! Reusable view pieces.

pub mod erase;
pub mod field;
pub mod form;
pub mod icons;
pub mod layout;
pub mod passkey;
pub mod plain_forms;
pub mod step_up;
pub mod time;
