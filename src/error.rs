//! The error the binary renders: a message, its causes, a hint, an exit code.
//!
//! Exit codes: 0 success, 1 failure, 2 usage or configuration error (a
//! lifecycle script's own non-zero code is passed on, as npm does).

use crate::pack::PackError;
use crate::publish::PublishError;

/// Any failure of a trustpub command.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Pack(#[from] PackError),
    #[error(transparent)]
    Publish(#[from] PublishError),
    #[error("{message}")]
    Usage {
        message: String,
        hint: Option<String>,
    },
}

impl Error {
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Pack(e) => e.exit_code(),
            Error::Publish(e) => e.exit_code(),
            Error::Usage { .. } => 2,
        }
    }

    pub fn hint(&self) -> Option<String> {
        match self {
            Error::Pack(e) => e.hint(),
            Error::Publish(e) => e.hint(),
            Error::Usage { hint, .. } => hint.clone(),
        }
    }

    /// The chain of causes below the top message.
    pub fn causes(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut cur = std::error::Error::source(self);
        // `transparent` variants repeat the inner message as the first source.
        let top = self.to_string();
        while let Some(e) = cur {
            let s = e.to_string();
            if s != top && out.last() != Some(&s) {
                out.push(s);
            }
            cur = e.source();
        }
        out
    }
}
