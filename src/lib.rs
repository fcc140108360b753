//! trustpub
