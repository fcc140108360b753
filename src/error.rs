//! The error the binary renders: a message, its causes, a hint, an exit code.
//!
//! Exit codes: 0 success, 1 failure, 2 usage or configuration error (a
//! lifecycle script's own non-zero code is passed on, as npm does).

use crate::auth::AuthError;
use crate::doctor::DoctorError;
use crate::manifest::ManifestError;
use crate::pack::PackError;
use crate::publish::{PreflightError, PrepareError, PublishError, UploadError};
use crate::registry::RegistryError;
use crate::scripts::ScriptError;
use crate::workspace::WorkspaceError;

/// Any failure of a trustpub command.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Pack(#[from] PackError),
    #[error(transparent)]
    Publish(#[from] PublishError),
    #[error(transparent)]
    Doctor(#[from] DoctorError),
    /// Finding, selecting or ordering a workspace's packages.
    #[error(transparent)]
    Workspace(#[from] WorkspaceError),
    /// `trustpub trust` could not start.
    #[error(transparent)]
    Trust(#[from] crate::trust_config::sync::TrustError),
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
            Error::Doctor(e) => e.exit_code(),
            Error::Workspace(e) => e.exit_code(),
            Error::Trust(e) => e.exit_code(),
            Error::Usage { .. } => 2,
        }
    }

    pub fn hint(&self) -> Option<String> {
        match self {
            Error::Pack(e) => e.hint(),
            Error::Publish(e) => e.hint(),
            Error::Doctor(e) => e.hint(),
            Error::Workspace(e) => Some(e.hint()),
            Error::Trust(e) => e.hint(),
            Error::Usage { hint, .. } => hint.clone(),
        }
    }

    /// npm's error code where npm fails the same way (`ENEEDAUTH`, `E404`,
    /// `EPUBLISHCONFLICT`, `EPRIVATE`, `EJSONPARSE`, `ELIFECYCLE`, …), else
    /// a trustpub code: `EUSAGE` for usage and configuration errors (exit
    /// 2), `EPACK` or `EPUBLISH` for other failures.
    pub fn npm_code(&self) -> String {
        let manifest = |m: &ManifestError| match m {
            ManifestError::Missing { .. } | ManifestError::NoDirectory { .. } => Some("ENOENT"),
            ManifestError::Syntax { .. } | ManifestError::NotAnObject { .. } => Some("EJSONPARSE"),
            ManifestError::InvalidVersion { .. } => Some("EBADSEMVER"),
            _ => None,
        };
        let script = |_: &ScriptError| Some("ELIFECYCLE");
        let registry = |r: &RegistryError| -> Option<String> {
            if r.is_otp() {
                return Some("EOTP".into());
            }
            r.status().map(|s| format!("E{s}"))
        };
        let prepare = |p: &PrepareError| -> Option<String> {
            match p {
                PrepareError::Manifest(m) | PrepareError::Pack(PackError::Manifest(m)) => {
                    manifest(m).map(str::to_string)
                }
                PrepareError::Script(s) | PrepareError::Pack(PackError::Script(s)) => {
                    script(s).map(str::to_string)
                }
                PrepareError::Private { .. } => Some("EPRIVATE".into()),
                PrepareError::RestrictedUnscoped { .. } => Some("EUNSCOPED".into()),
                PrepareError::TargetMissing { .. } => Some("ENOENT".into()),
                _ => None,
            }
        };
        let known: Option<String> = match self {
            Error::Pack(PackError::Manifest(m)) => manifest(m).map(str::to_string),
            Error::Pack(PackError::Script(s)) => script(s).map(str::to_string),
            Error::Publish(p) => match p {
                PublishError::Prepare(e) => prepare(e),
                PublishError::Upload(UploadError::Script(s)) => script(s).map(str::to_string),
                PublishError::Upload(
                    UploadError::Registry(r)
                    | UploadError::TrustedForbidden(r)
                    | UploadError::Stage { error: r, .. },
                ) => registry(r),
                PublishError::Auth(AuthError::NeedAuth { .. }) => Some("ENEEDAUTH".into()),
                // npm has no OIDC error: with no token to fall back on it
                // fails with ENEEDAUTH.
                PublishError::Auth(AuthError::TrustedPublishing {
                    no_fallback: true, ..
                }) => Some("ENEEDAUTH".into()),
                PublishError::Preflight(PreflightError::Published(_))
                | PublishError::Upload(UploadError::Published(_)) => {
                    Some("EPUBLISHCONFLICT".into())
                }
                _ => None,
            },
            Error::Doctor(DoctorError::Prepare(e)) => prepare(e),
            Error::Doctor(DoctorError::Workspace(_)) => None,
            Error::Pack(_) | Error::Workspace(_) | Error::Trust(_) | Error::Usage { .. } => None,
        };
        known.unwrap_or_else(|| {
            match (self, self.exit_code()) {
                (_, 2) => "EUSAGE",
                // doctor's errors are publish's first half.
                (Error::Publish(_) | Error::Doctor(_) | Error::Workspace(_), _) => "EPUBLISH",
                (Error::Trust(_), _) => "ETRUST",
                _ => "EPACK",
            }
            .to_string()
        })
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
