//! `.tgz` bytes → `TarballSource` (gunzip, tar headers, PAX, GNU long
//! names), its package.json and the normalisation.
#![no_main]

use libfuzzer_sys::fuzz_target;
use trustpub::document::{self, PackageSource, TarballSource};

fuzz_target!(|data: &[u8]| {
    let Ok(src) = TarballSource::new(data) else {
        return;
    };
    for name in src.list("") {
        let rel = name.trim_end_matches('/');
        assert!(!rel.is_empty() && rel != ".." && !rel.contains('/'));
        let _ = src.read(rel);
    }
    if let Ok(pkg) = src.package_json() {
        let _ = document::normalize_manifest(&pkg, &src);
    }
});
