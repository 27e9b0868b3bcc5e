//! Minion configuration (being implemented).
