//! First line: a minimatch pattern; every other line: a path to match.
#![no_main]

use libfuzzer_sys::fuzz_target;
use trustpub::glob::{Candidate, Rule};

fuzz_target!(|s: &str| {
    let mut lines = s.split('\n');
    let pattern = lines.next().unwrap_or_default();
    let rule = Rule::new(pattern);
    assert_eq!(Rule::try_new(pattern).is_ok(), rule.error().is_none());
    let _ = rule.is_relative();
    for path in lines.take(8) {
        let c = Candidate::new(path);
        let full = rule.matches_candidate(&c, false);
        let _ = rule.matches_candidate(&c, true);
        if rule.lacks_required_part(&c) {
            assert!(!full, "the required-part pre-check contradicts the matcher");
        }
    }
});
