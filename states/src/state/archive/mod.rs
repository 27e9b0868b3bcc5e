//! `archive`: `archive.extracted` (salt/states/archive.py).
pub mod owner;
