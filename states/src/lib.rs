//! states (being implemented).
