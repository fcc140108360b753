//! An id token → `oidc::decode_claims` and the claim diagnostics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use trustpub::ci::Provider;
use trustpub::oidc;
use trustpub::secret::Secret;

fuzz_target!(|s: &str| {
    if let Ok(c) = oidc::decode_claims(&Secret::new(s.to_string())) {
        let _ = (c.audiences(), c.expires_at());
        let _ = c.publisher_values().form();
        for p in [
            Provider::GitHubActions,
            Provider::GitLab,
            Provider::CircleCi,
        ] {
            let _ = trustpub::trust::claim_lines(&c, p);
        }
    }
});
