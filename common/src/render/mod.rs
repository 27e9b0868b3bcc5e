//! The Jinja+YAML renderer (being implemented).
