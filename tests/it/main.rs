//! Integration tests for the `trustpub` binary.
//!
//! `pack_diff` packs every fixture under `fixtures/pack/` with the real npm
//! (11.19.1) and with `trustpub pack`, and requires identical results.
//! `trusted` runs trusted publishing against the fake OIDC issuer and the
//! exchange proxy in front of the real Verdaccio.

mod attacks;
mod completions;
mod config_diff;
mod crate_package;
mod document_diff;
mod fuzz;
mod install_script;
mod npm_packages;
mod pack_diff;
mod pack_errors;
mod provenance;
mod provenance_statement;
mod publish;
mod readme_examples;
mod release_archives;
mod supply_chain;
mod support;
mod trusted;
mod truth;
