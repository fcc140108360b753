//! Id tokens: `oidc::decode_claims` and everything that reads the claims
//! for diagnostics (`Claims`, `PublisherValues::form`, `trust::claim_lines`).

use base64::Engine as _;
use proptest::prelude::*;
use serde_json::{Map, Value};
use trustpub::ci::Provider;
use trustpub::oidc::{self, Claims, ClaimsError};
use trustpub::secret::Secret;
use trustpub::trust;

use super::{config, nasty_line, nasty_string};

const CLAIMS: &[&str] = &[
    "iss",
    "aud",
    "sub",
    "exp",
    "repository",
    "repository_owner",
    "workflow_ref",
    "job_workflow_ref",
    "environment",
    "ref",
    "project_path",
    "ci_config_ref_uri",
    "oidc.circleci.com/project-id",
    "oidc.circleci.com/org-id",
    "oidc.circleci.com/vcs-origin",
];

fn claim_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        3 => nasty_string(5).prop_map(Value::String),
        1 => proptest::collection::vec(nasty_line(3).prop_map(Value::String), 0..3).prop_map(Value::Array),
        // Expiries: the whole range, `i64::MIN` included (it once
        // overflowed `now - exp` in the claim lines).
        1 => prop_oneof![any::<i64>(), Just(i64::MIN), Just(i64::MAX)].prop_map(Value::from),
        1 => any::<u64>().prop_map(Value::from),
        1 => any::<f64>().prop_filter_map("finite", |f| serde_json::Number::from_f64(f).map(Value::Number)),
        1 => super::manifest::json_value(),
    ]
}

fn claims() -> impl Strategy<Value = Map<String, Value>> {
    proptest::collection::vec(
        (
            prop_oneof![
                proptest::sample::select(CLAIMS).prop_map(str::to_string),
                nasty_line(2)
            ],
            claim_value(),
        ),
        0..8,
    )
    .prop_map(|kv| kv.into_iter().collect())
}

fn b64(bytes: &[u8], url: bool, pad: bool) -> String {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    match (url, pad) {
        (true, false) => URL_SAFE_NO_PAD.encode(bytes),
        (true, true) => URL_SAFE.encode(bytes),
        (false, false) => STANDARD_NO_PAD.encode(bytes),
        (false, true) => STANDARD.encode(bytes),
    }
}

/// A payload segment: base64 of JSON claims, of other JSON, of bytes, or
/// not base64 at all.
fn payload() -> impl Strategy<Value = (String, bool)> {
    prop_oneof![
        4 => (claims(), any::<bool>(), any::<bool>())
            .prop_map(|(c, url, pad)| (b64(&serde_json::to_vec(&c).unwrap(), url, pad), true)),
        1 => (super::manifest::json_value(), any::<bool>())
            .prop_map(|(v, url)| (b64(&serde_json::to_vec(&v).unwrap(), url, false), false)),
        1 => proptest::collection::vec(any::<u8>(), 0..64).prop_map(|b| (b64(&b, true, false), false)),
        1 => Just((b64(b"{\"a\":\"\\ud800\"}", true, false), false)),
        1 => Just((b64(&[b'['; 300], true, false), false)),
        1 => nasty_string(4).prop_map(|s| (s, false)),
    ]
}

fn exercise(c: &Claims) {
    let _ = c.audiences();
    let _ = c.expires_at();
    for k in CLAIMS {
        let _ = c.str(k);
    }
    let _ = c.publisher_values().form();
    for p in [
        Provider::GitHubActions,
        Provider::GitLab,
        Provider::CircleCi,
    ] {
        let _ = trust::claim_lines(c, p);
    }
}

proptest! {
    #![proptest_config(config(512))]

    /// Any string as a token: an error or claims, never a panic; and a
    /// token that is not three dot-separated parts is `NotAJwt`.
    #[test]
    fn decode_claims_survives_any_token(token in nasty_string(10)) {
        let r = oidc::decode_claims(&Secret::new(token.clone()));
        if token.split('.').count() != 3 {
            prop_assert_eq!(r, Err(ClaimsError::NotAJwt));
        } else if let Ok(c) = r {
            exercise(&c);
        }
    }

    /// Real-looking JWTs with garbage header and signature segments and
    /// payloads of every kind: claims encoded as base64url (padded or not)
    /// decode to exactly those claims; other payloads are errors.
    #[test]
    fn decode_claims_structured(
        header in prop_oneof![Just("eyJhbGciOiJSUzI1NiJ9".to_string()), nasty_line(3)],
        (body, is_claims) in payload(),
        sig in nasty_line(3),
    ) {
        prop_assume!(!header.contains('.') && !sig.contains('.'));
        let token = format!("{header}.{body}.{sig}");
        let r = oidc::decode_claims(&Secret::new(token));
        if is_claims {
            let c = r.expect("base64url JSON claims decode");
            exercise(&c);
        } else if let Ok(c) = r {
            exercise(&c);
        }
    }

    /// The date formatting behind the expiry lines takes any `i64`.
    #[test]
    fn expiry_extremes(secs in prop_oneof![any::<i64>(), Just(i64::MIN), Just(i64::MAX), Just(0i64)]) {
        // A date for the years 0000-9999, else the number, said as such.
        let s = trust::utc(secs);
        prop_assert!(
            (s.ends_with('Z') || s.ends_with("not a real date)")) && s.len() < 64,
            "{}",
            s
        );
    }
}
