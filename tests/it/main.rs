//! Integration tests for the `trustpub` binary.
//!
//! `pack_diff` packs every fixture under `fixtures/pack/` with the real npm
//! (11.19.1) and with `trustpub pack`, and requires identical results.

mod config_diff;
mod document_diff;
mod pack_diff;
mod pack_errors;
mod publish;
mod support;
