//! package.json bytes → `Manifest::parse` (validation, bin, bundles, scripts).
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use trustpub::manifest::Manifest;

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = Manifest::parse(data, Path::new("package.json")) {
        assert!(trustpub::semver::valid(&m.version, true).is_some());
        let _ = (m.id(), m.tarball_name(), m.files(), m.has_workspaces());
    }
});
