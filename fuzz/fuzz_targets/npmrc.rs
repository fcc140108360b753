//! A project `.npmrc` → `Config::load` and what publish asks of it.
#![no_main]

use std::fs;
use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use trustpub::config::{CliConfig, Config};
use trustpub::env::Env;

fn dir() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let d = tempfile::tempdir().unwrap().keep();
        fs::create_dir_all(d.join("home")).unwrap();
        fs::create_dir_all(d.join("proj")).unwrap();
        fs::write(
            d.join("proj/package.json"),
            r#"{"name":"@sc/p","version":"1.0.0"}"#,
        )
        .unwrap();
        d
    })
}

fuzz_target!(|data: &[u8]| {
    let d = dir();
    fs::write(d.join("proj/.npmrc"), data).unwrap();
    let env = Env::from_pairs([
        ("HOME", d.join("home").to_string_lossy().into_owned()),
        ("NODE_AUTH_TOKEN", "npm_token".to_string()),
    ]);
    let cli = CliConfig {
        globalconfig: Some(d.join("global-npmrc")),
        ..CliConfig::default()
    };
    if let Ok(c) = Config::load(&env, &cli, &d.join("proj")) {
        let r = c.registry();
        let _ = c.registry_for("@sc/p");
        let _ = c.check_tag("@sc/p");
        let _ = (c.access(), c.retry(), c.provenance(), c.otp());
        let _ = c.lookup_credential(&r.url, Some("@sc/p"));
        let _ = c.has_credentials_for_publish(&r.url);
    }
});
