//! Errors of a state or pillar tree: every problem found, not just the first.
use crate::render::RenderError;

/// One problem in a state or pillar tree.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TreeError {
    /// A file failed to render; carries file, line, column and the offending line.
    #[error("{0}")]
    Render(#[from] RenderError),
    /// A structural problem Salt also reports (conflicting IDs, bad requisites, …).
    #[error("{0}")]
    Tree(String),
}

/// All the problems of one compile, in the order found.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}", .0.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("\n\n"))]
pub struct TreeErrors(pub Vec<TreeError>);
