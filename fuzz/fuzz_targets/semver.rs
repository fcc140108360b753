//! Version and range strings → `semver::valid`, `clean`, `valid_range`.
//! A normal form is stable in the mode that made it (node-semver's loose
//! normal form need not be strictly valid: `1.2.3-00000200000200000020020`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use trustpub::semver;

fuzz_target!(|s: &str| {
    for loose in [false, true] {
        if let Some(v) = semver::valid(s, loose) {
            assert_eq!(semver::valid(&v, loose), Some(v.clone()));
        }
        if let Some(v) = semver::clean(s, loose) {
            assert_eq!(semver::valid(&v, loose), Some(v.clone()));
        }
        // A normal form can outgrow the 256-character limit by a `-`.
        if let Some(r) = semver::valid_range(s, loose).filter(|r| r.len() <= 256) {
            assert!(semver::valid_range(&r, loose).is_some());
        }
    }
});
