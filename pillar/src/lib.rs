//! pillar (being implemented).
