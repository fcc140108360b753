//! An `.npmignore` → `files::select` over a small fixed package.
#![no_main]

use std::fs;
use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use trustpub::files;
use trustpub::manifest::Manifest;

const PKG: &str = r#"{"name":"fz","version":"1.0.0"}"#;

fn dir() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let d = tempfile::tempdir().unwrap().keep();
        for f in [
            "a.js",
            "lib/b.js",
            "lib/.npmrc",
            "README.md",
            "x/y/z.txt",
            "A.JS",
            "[x].js",
        ] {
            let p = d.join(f);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(p, "x").unwrap();
        }
        fs::write(d.join("package.json"), PKG).unwrap();
        d
    })
}

fuzz_target!(|data: &[u8]| {
    let d = dir();
    fs::write(d.join(".npmignore"), data).unwrap();
    let m = Manifest::parse(PKG.as_bytes(), &d.join("package.json")).unwrap();
    if let Ok(sel) = files::select(d, &m) {
        assert!(sel.files.iter().any(|f| f == "package.json"));
        assert!(!sel.files.iter().any(|f| f.ends_with(".npmrc")));
    }
});
