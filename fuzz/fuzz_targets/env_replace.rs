//! `${VAR}` expansion in npmrc values.
#![no_main]

use libfuzzer_sys::fuzz_target;
use trustpub::config::env_replace;
use trustpub::env::Env;

fuzz_target!(|s: &str| {
    // `A` holds `${B}`; B's value is the only source of U+0001. Without a
    // `B` in the input, nothing can name B, and `${A}` must stay `${B}`.
    let env = Env::from_pairs([("A", "${B}"), ("B", "\u{1}"), ("E", "")]);
    let out = env_replace(s, &env);
    if !s.contains("${") {
        assert_eq!(out.value, s);
    }
    if !s.contains('B') && !s.contains('\u{1}') {
        assert!(!out.value.contains('\u{1}'), "expanded twice");
    }
});
