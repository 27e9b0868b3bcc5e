//! Target expressions (being implemented).
