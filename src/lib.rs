//! trustpub: publish npm packages from CI with OIDC trusted publishing.
//!
//! The data flow, one module per stage:
//!
//! ```text
//!       package dir ──▶ manifest (package.json, read once)
//!  env + .npmrc ──▶ config (npm's layers, publishConfig, credentials)
//!  ci + oidc ──▶ trust (id token, exchange, diagnostics) ──▶ auth (OIDC or a token)
//!                                 ▼
//!  files (npm-packlist rules) ──▶ pack (tar + gzip, integrity) ──▶ document (the PUT body)
//!                                 ▼
//!  registry (PUT, retries, error mapping) ──▶ report (human / --json)
//! ```
//!
//! `publish` runs it as five stages (prepare, authenticate, preflight,
//! upload, report; see ARCHITECTURE.md); `pack` is the first half of prepare.
//! The file selection and the uncompressed tar stream are byte-identical to
//! npm 11.19.1's, and so is the registry document (without `_npmVersion`).

pub mod app;
pub mod auth;
pub mod batch;
pub mod changesets;
pub mod ci;
pub mod ci_report;
pub mod cli;
pub mod collate;
pub mod config;
pub mod doctor;
pub mod document;
pub mod env;
pub mod error;
pub mod files;
pub mod generate;
pub mod glob;
pub mod gzip;
pub mod http;
pub(crate) mod js;
pub mod limits;
pub mod manifest;
pub mod oidc;
pub mod pack;
pub mod provenance;
pub mod publish;
pub mod registry;
pub mod report;
pub mod scripts;
pub mod secret;
pub mod semver;
pub mod signals;
pub mod tar;
pub mod trust;
pub mod trust_config;
pub mod ui;
pub mod workflows;
pub mod workspace;
