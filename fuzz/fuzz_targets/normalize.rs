//! package.json bytes → npm's normalisation and the registry document, as
//! `publish FILE.tgz` builds them (an empty package around the manifest).
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use trustpub::document::{self, DocumentOptions, TarballSource};

fuzz_target!(|data: &[u8]| {
    let Ok(Value::Object(raw)) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let src = TarballSource::default();
    let Ok(manifest) = document::normalize_manifest(&raw, &src) else {
        return;
    };
    let opts = DocumentOptions {
        registry: "https://registry.npmjs.org/",
        tag: "latest",
        access: None,
        provenance_bundle: None,
    };
    if let Ok(doc) = document::build_from_normalized(manifest, b"tgz", "sha512-x", "00", &opts) {
        let wire = document::to_wire(&doc);
        serde_json::from_slice::<Value>(&wire).expect("the PUT body is JSON");
    }
});
