//! minion library (being implemented).
