//! minion library (being implemented).
pub mod grains;
