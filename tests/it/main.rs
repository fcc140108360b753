//! Integration tests for the `trustpub` binary.
//!
//! `pack_diff` packs every fixture under `fixtures/pack/` with the real npm
//! (11.19.1) and with `trustpub pack`, and requires identical results.
//! `trusted` runs trusted publishing against the fake OIDC issuer and the
//! exchange proxy in front of the real Verdaccio.
//!
//! The suite runs on Linux (signals, modes, FIFOs, npm and Verdaccio as
//! child processes); on Windows it compiles to nothing, and the Windows CI
//! job runs the unit tests and `.ci/windows-pack-diff` instead.
#![cfg(unix)]
// The house rules in clippy.toml are for the program: the tests read their
// own settings (TRUSTPUB_TEST_NPM, PATH for the tools they start) from the
// environment and print diagnostics to the test log.
#![allow(clippy::disallowed_methods, clippy::disallowed_macros)]

mod attacks;
mod completions;
mod config_diff;
mod crate_package;
mod doctor_workspaces;
mod document_diff;
mod fuzz;
mod identity_drift;
mod install_script;
mod npm_packages;
mod pack_diff;
mod pack_errors;
mod provenance;
mod provenance_statement;
mod publish;
mod readme_examples;
mod release_archives;
mod script_shell;
mod snapshots;
mod snapshots_faults;
mod snapshots_workspaces;
mod stage;
mod supply_chain;
mod support;
mod trust_diff;
mod trust_downgrade;
mod trust_sync;
mod trust_words;
mod trusted;
mod truth;
mod workspace_diff;
mod workspace_rewrite;
mod workspaces_publish;
