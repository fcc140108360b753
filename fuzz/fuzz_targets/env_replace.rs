//! `${VAR}` expansion in npmrc values.
#![no_main]

use libfuzzer_sys::fuzz_target;
use trustpub::config::env_replace;
use trustpub::env::Env;

fuzz_target!(|s: &str| {
    let env = Env::from_pairs([("A", "${B}"), ("B", "secret"), ("E", "")]);
    let out = env_replace(s, &env);
    if !s.contains("${") {
        assert_eq!(out.value, s);
    }
    // `A` holds `${B}`: expanding `${A}` must give `${B}`, not B's value.
    if !s.contains('B') && !s.contains("${E") {
        let count = |t: &str| t.matches("secret").count();
        assert!(count(&out.value) <= count(s), "expanded twice");
    }
});
