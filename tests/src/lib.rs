//! Shared test support lives in the test files themselves; this crate only hosts them.
