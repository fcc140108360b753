//! trustpub: publish npm packages from CI with OIDC trusted publishing.
//!
//! The data flow, one module per stage:
//!
//! ```text
//! package dir ──▶ manifest (package.json, read once)
//!                   ▼
//! files (npm-packlist rules) ──▶ pack (tar + gzip, integrity) ──▶ report
//! ```
//!
//! `pack` is the first stage every publish needs: the file selection and the
//! uncompressed tar stream are byte-identical to npm 11.19.1's.

pub mod ci;
pub mod cli;
pub mod collate;
pub mod config;
pub mod document;
pub mod env;
pub mod error;
pub mod files;
pub mod glob;
pub mod gzip;
pub mod manifest;
pub mod pack;
pub mod publish;
pub mod registry;
pub mod scripts;
pub mod secret;
pub mod semver;
pub mod tar;
pub mod ui;
