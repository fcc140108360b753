//! Secrets as types: a token, password or one-time code held in a [`Secret`]
//! cannot be formatted by accident.
//!
//! `Debug` and `Display` print `****`; the value is reached only through
//! [`Secret::expose`], so every place that puts a secret on the wire is a
//! greppable call. There is deliberately no `Serialize`. (The same idea as
//! cargo's `Secret<T>` and uv's redacted URLs.)
//!
//! [`redact_url`] does the same for URLs that may carry a password in their
//! userinfo part, as npm's `@npmcli/redact` does before printing a registry.
//!
//! Types only protect the value while it is a `Secret`: a server can echo a
//! token back, and an error can quote a URL with its password. So every
//! secret is also *registered* in a process-wide set the moment it is
//! obtained ([`Secret::new`] does it, as do [`register_env`] at start and
//! the config loader for every sensitive npmrc value), and the printer
//! passes every line it writes through [`scrub`], which replaces each
//! registered secret and the userinfo of every URL in the line by `***`.

use std::fmt;
use std::sync::RwLock;

/// Registered values shorter than this are not scrubbed as substrings.
///
/// A scrubber that replaces a 1-character "secret" would blank every `a` of
/// the log (and an empty one would match everywhere), so some floor is
/// needed. Six keeps every credential trustpub obtains (npm tokens, JWTs,
/// GitHub's request token, base64 `user:pass`, six-digit one-time codes)
/// while leaving ordinary words alone. A shorter value is one a guesser finds
/// anyway; passwords in URLs are removed whatever their length by the
/// userinfo rule of [`scrub`].
pub const MIN_SCRUB_LEN: usize = 6;

/// What a scrubbed secret is replaced with.
pub const REDACTED: &str = "***";

static KNOWN: RwLock<Vec<String>> = RwLock::new(Vec::new());

/// A value that must never be printed: `{}` and `{:?}` both give `****`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret<T>(T);

/// A value that, wrapped in a [`Secret`], is registered for [`scrub`].
pub trait Registrable {
    fn register(&self);
}

impl Registrable for String {
    fn register(&self) {
        register(self);
    }
}

impl<T: Registrable> Secret<T> {
    /// Wraps `value` and registers it, so that no output line can show it.
    pub fn new(value: T) -> Secret<T> {
        value.register();
        Secret(value)
    }
}

impl<T> Secret<T> {
    /// The secret itself. Call it only where the value leaves the process
    /// (an HTTP header, a child's environment), never to print it.
    pub fn expose(&self) -> &T {
        &self.0
    }

    /// Consumes the wrapper, for the same narrow uses as [`Secret::expose`].
    pub fn into_exposed(self) -> T {
        self.0
    }

    /// Transforms the secret without exposing it to formatting.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Secret<U> {
        Secret(f(self.0))
    }
}

impl<T: Registrable> From<T> for Secret<T> {
    fn from(value: T) -> Secret<T> {
        Secret::new(value)
    }
}

impl<T> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("****")
    }
}

impl<T> fmt::Display for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("****")
    }
}

/// `url` with the password of its userinfo (`https://user:pass@host/`)
/// replaced by `***`, for messages. Strings that are not URLs come back
/// unchanged. Mirrors what `@npmcli/redact`'s `redactLog` does to URLs.
pub fn redact_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_string();
    };
    let rest = &url[scheme_end + 3..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let Some(at) = authority.rfind('@') else {
        return url.to_string();
    };
    let userinfo = &authority[..at];
    let redacted = match userinfo.find(':') {
        Some(colon) => format!("{}:***", &userinfo[..colon]),
        None => "***".to_string(),
    };
    format!("{}{}{}", &url[..scheme_end + 3], redacted, &rest[at..])
}

/// The variants of `value` that [`scrub`] looks for: the value, each of its
/// lines (split as the GitHub runner splits them, on `\r` and `\n`), its
/// JSON-escaped form (as it appears inside a `--json` document) and, for a
/// JWT, each of its long parts (a service may quote the payload alone).
/// Variants shorter than [`MIN_SCRUB_LEN`] are left out.
fn variants(value: &str) -> Vec<String> {
    let mut v = vec![value.to_string()];
    v.extend(value.split(['\r', '\n']).map(str::to_string));
    if let Ok(json) = serde_json::to_string(value) {
        v.push(json[1..json.len() - 1].to_string());
    }
    // As a server may quote it inside a URL or a form body:
    // encodeURIComponent's form, in upper- and lower-case hex.
    let encoded = percent_encode(value);
    if encoded != value {
        v.push(encoded.to_ascii_lowercase());
        v.push(encoded);
    }
    if value.matches('.').count() == 2 {
        v.extend(
            value
                .split('.')
                .filter(|p| p.len() >= 16)
                .map(str::to_string),
        );
    }
    v.retain(|s| s.chars().count() >= MIN_SCRUB_LEN);
    v
}

/// JavaScript's `encodeURIComponent` (upper-case hex).
fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Whether `value` is known not to be a secret although it sits where one
/// goes: setup-node's placeholder token, or a `${VAR}` reference left
/// unexpanded. trustpub names both in its diagnostics.
fn is_placeholder(value: &str) -> bool {
    let v = value.trim();
    v == crate::config::SETUP_NODE_PLACEHOLDER || (v.starts_with("${") && v.ends_with('}'))
}

/// Adds `value` to the secrets no output line may contain (placeholders
/// excepted, see [`is_placeholder`]).
pub fn register(value: &str) {
    if is_placeholder(value) {
        return;
    }
    let new = variants(value);
    if new.is_empty() {
        return;
    }
    let mut known = KNOWN.write().unwrap_or_else(|e| e.into_inner());
    for s in new {
        if !known.contains(&s) {
            known.push(s);
        }
    }
}

/// Registers the value of a sensitive config key (`…:_authToken`, `_auth`,
/// `_password`, `otp`, …): the value as written and, for `_auth` and
/// `_password` (base64), what it decodes to (`user:pass` and its password).
pub fn register_config_value(key: &str, value: &serde_json::Value) {
    let text = match value {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Number(n) => n.to_string(),
        _ => return,
    };
    register(&text);
    let base = key.rsplit(':').next().unwrap_or(key);
    if matches!(base, "_auth" | "_password") {
        let decoded = lenient_base64(&text).map(|b| String::from_utf8_lossy(&b).into_owned());
        if let Some(d) = decoded {
            register(&d);
            if base == "_auth" {
                if let Some((_, pass)) = d.split_once(':') {
                    register(pass);
                }
            }
        }
    }
}

/// Base64 as Node's `Buffer.from(s, 'base64')` reads it, near enough for
/// registering: whitespace ignored, padding optional, loose trailing bits.
fn lenient_base64(s: &str) -> Option<Vec<u8>> {
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    use base64::Engine as _;
    let cleaned: String = s.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let config = GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true);
    GeneralPurpose::new(&base64::alphabet::STANDARD, config)
        .decode(cleaned)
        .ok()
}

/// Registers the secrets the environment holds, at start: the CI's token
/// variables and every sensitive `npm_config_*` value.
pub fn register_env(env: &crate::env::Env) {
    for name in [
        "NODE_AUTH_TOKEN",
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
        "NPM_ID_TOKEN",
        "SIGSTORE_ID_TOKEN",
    ] {
        if let Some(v) = env.get(name) {
            register(v);
        }
    }
    for (k, v) in env.iter() {
        let lower = k.to_ascii_lowercase();
        if let Some(key) = lower.strip_prefix("npm_config_") {
            let base = key.rsplit(':').next().unwrap_or(key);
            let base = base.trim_start_matches('_');
            if matches!(base, "authtoken" | "auth" | "password" | "otp") {
                let key = match base {
                    "auth" => "_auth",
                    "password" => "_password",
                    other => other,
                };
                register_config_value(key, &serde_json::Value::String(v.to_string()));
            }
        }
    }
}

/// The registered secrets (for [`scrub`]).
fn known() -> Vec<String> {
    KNOWN.read().unwrap_or_else(|e| e.into_inner()).clone()
}

/// `text` with every registered secret and every URL userinfo replaced by
/// `***`. The printer calls it on everything it writes.
pub fn scrub(text: &str) -> String {
    scrub_with(text, &known())
}

/// [`scrub`] with an explicit list of secrets (values shorter than
/// [`MIN_SCRUB_LEN`] are ignored). Overlapping and nested matches are merged
/// first, so no fragment of a secret survives between two replacements.
pub fn scrub_with(text: &str, secrets: &[String]) -> String {
    let mut spans: Vec<(usize, usize)> = Vec::new();
    for s in secrets {
        if s.chars().count() < MIN_SCRUB_LEN {
            continue;
        }
        let mut from = 0;
        while let Some(i) = text[from..].find(s.as_str()) {
            let start = from + i;
            spans.push((start, start + s.len()));
            // Next search one character on, to find overlapping copies.
            from = start + text[start..].chars().next().map_or(1, char::len_utf8);
        }
    }
    spans.extend(userinfo_spans(text));
    if spans.is_empty() {
        return text.to_string();
    }
    spans.sort_unstable();
    let mut out = String::with_capacity(text.len());
    let mut pos = 0;
    let mut i = 0;
    while i < spans.len() {
        let (start, mut end) = spans[i];
        i += 1;
        while i < spans.len() && spans[i].0 <= end {
            end = end.max(spans[i].1);
            i += 1;
        }
        if start < pos {
            // Inside an earlier span (cannot happen after the merge).
            continue;
        }
        out.push_str(&text[pos..start]);
        out.push_str(REDACTED);
        pos = end;
    }
    out.push_str(&text[pos..]);
    out
}

/// The byte ranges to hide in each `scheme://userinfo@host` of `text`: the
/// password of `user:password`, or the whole userinfo when it has no colon
/// (a token alone, except the shared ssh user `git`). The authority ends at
/// `/`, `?`, `#` or whitespace; its
/// last `@` ends the userinfo, as in the URL standard.
fn userinfo_spans(text: &str) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    let mut from = 0;
    while let Some(i) = text[from..].find("://") {
        let start = from + i + 3;
        let rest = &text[start..];
        let end = rest
            .find(|c: char| matches!(c, '/' | '?' | '#') || c.is_whitespace())
            .unwrap_or(rest.len());
        let authority = &rest[..end];
        if let Some(at) = authority.rfind('@') {
            let userinfo = &authority[..at];
            match userinfo.find(':') {
                Some(colon) if colon + 1 < at => spans.push((start + colon + 1, start + at)),
                Some(_) => {}
                // `git@` (ssh remotes: `git+ssh://git@github.com/…`) is a
                // user name everyone shares, not a token.
                None if at > 0 && userinfo != "git" => spans.push((start, start + at)),
                None => {}
            }
        }
        from = start;
    }
    spans
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_format() {
        let s = Secret::new("npm_abcdef".to_string());
        assert_eq!(format!("{s}"), "****");
        assert_eq!(format!("{s:?}"), "****");
        assert_eq!(format!("{:?}", Some(s.clone())), "Some(****)");
        assert_eq!(format!("{:#?}", vec![s.clone()]), "[\n    ****,\n]");
        assert_eq!(s.expose(), "npm_abcdef");
        assert_eq!(s.map(|v| v.len()).into_exposed(), 10);
    }

    #[test]
    fn urls_lose_their_passwords() {
        let cases = [
            ("https://registry.npmjs.org/", "https://registry.npmjs.org/"),
            (
                "https://u:p4ss@host:8080/path",
                "https://u:***@host:8080/path",
            ),
            ("https://tokenonly@host/", "https://***@host/"),
            ("http://host/a@b", "http://host/a@b"),
            ("not a url", "not a url"),
        ];
        for (input, want) in cases {
            assert_eq!(redact_url(input), want, "{input}");
        }
    }

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn scrub_replaces_every_copy_of_every_secret() {
        let secrets = strings(&["npm_SecretToken1", "hunter2pass"]);
        assert_eq!(
            scrub_with(
                "401: Authorization: Bearer npm_SecretToken1 (npm_SecretToken1) pw=hunter2pass",
                &secrets
            ),
            "401: Authorization: Bearer *** (***) pw=***"
        );
        assert_eq!(scrub_with("nothing here", &secrets), "nothing here");
    }

    #[test]
    fn overlapping_and_nested_secrets_leave_no_fragment() {
        // Replacing one after the other would leave "ghij" (or "abc").
        let secrets = strings(&["abcdefgh", "efghijkl"]);
        assert_eq!(scrub_with("x abcdefghijkl y", &secrets), "x *** y");
        let nested = strings(&["token-inner", "outer-token-inner-end"]);
        assert_eq!(
            scrub_with("[outer-token-inner-end] [token-inner]", &nested),
            "[***] [***]"
        );
        // Overlapping copies of one secret.
        let repeated = strings(&["aaaaaa"]);
        assert_eq!(scrub_with("aaaaaaaa|", &repeated), "***|");
    }

    #[test]
    fn placeholders_are_not_secrets() {
        register("XXXXX-XXXXX-XXXXX-XXXXX");
        register("${NODE_AUTH_TOKEN}");
        assert_eq!(
            scrub("placeholder XXXXX-XXXXX-XXXXX-XXXXX or ${NODE_AUTH_TOKEN}"),
            "placeholder XXXXX-XXXXX-XXXXX-XXXXX or ${NODE_AUTH_TOKEN}"
        );
    }

    #[test]
    fn short_or_empty_secrets_do_not_scrub_everything() {
        let secrets = strings(&["", "a", "abcde"]);
        let text = "a plain line about abcde and data";
        assert_eq!(scrub_with(text, &secrets), text);
        assert_eq!(MIN_SCRUB_LEN, 6);
        assert_eq!(
            scrub_with("code 123456 ok", &strings(&["123456"])),
            "code *** ok"
        );
    }

    #[test]
    fn a_secret_with_a_line_break_is_scrubbed_whole_and_by_line() {
        let v = variants("first-half\rsecond-half");
        assert!(v.contains(&"first-half\rsecond-half".to_string()));
        assert!(v.contains(&"first-half".to_string()));
        assert!(v.contains(&"second-half".to_string()));
        // Inside JSON, the \r is written `\r`.
        assert!(v.contains(&"first-half\\rsecond-half".to_string()));
        assert_eq!(
            scrub_with("echo: first-half\rsecond-half.", &v),
            "echo: ***."
        );
        // The runner would print the two halves as two lines.
        assert_eq!(scrub_with("second-half", &v), "***");
    }

    #[test]
    fn a_secret_inside_a_json_string_is_scrubbed() {
        let secret = "tok\"en\\with-quote";
        let v = variants(secret);
        let doc = serde_json::json!({ "error": format!("bad token {secret}") }).to_string();
        assert!(!doc.contains(secret), "the raw form is not in the JSON");
        let scrubbed = scrub_with(&doc, &v);
        assert_eq!(scrubbed, r#"{"error":"bad token ***"}"#);
        let parsed: serde_json::Value = serde_json::from_str(&scrubbed).unwrap();
        assert_eq!(parsed["error"], "bad token ***");
    }

    #[test]
    fn a_percent_encoded_echo_is_scrubbed() {
        let secret = "abc+def/ghi=jkl+mnop/qrstuv==";
        let v = variants(secret);
        for echo in [
            "token abc%2Bdef%2Fghi%3Djkl%2Bmnop%2Fqrstuv%3D%3D rejected",
            "token abc%2bdef%2fghi%3djkl%2bmnop%2fqrstuv%3d%3d rejected",
        ] {
            assert_eq!(scrub_with(echo, &v), "token *** rejected", "{echo}");
        }
    }

    #[test]
    fn jwt_parts_are_scrubbed_alone() {
        let jwt =
            "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJyZXBvOmFjbWUvd2lkZ2V0cyJ9.c2lnbmF0dXJlLWJ5dGVzLWhlcmU";
        let v = variants(jwt);
        assert_eq!(
            scrub_with("claims eyJzdWIiOiJyZXBvOmFjbWUvd2lkZ2V0cyJ9 rejected", &v),
            "claims *** rejected"
        );
    }

    #[test]
    fn url_userinfo_is_scrubbed_anywhere_in_a_line() {
        let none: Vec<String> = Vec::new();
        let cases = [
            (
                "error: cannot reach https://ci:p4ss@registry.example/npm/ (timeout)",
                "error: cannot reach https://ci:***@registry.example/npm/ (timeout)",
            ),
            (
                "GET https://npm_tok3n@host:8080?x=1 and http://u:pw@other#f",
                "GET https://***@host:8080?x=1 and http://u:***@other#f",
            ),
            // The last @ of the authority ends the userinfo.
            ("x https://u:p@ss@host/", "x https://u:***@host/"),
            ("https://user:@host/ ok", "https://user:@host/ ok"),
            (
                "mail me@example.com; see https://host/a@b",
                "mail me@example.com; see https://host/a@b",
            ),
            ("\"https://u:secretpw@h/\"", "\"https://u:***@h/\""),
            (
                "git+ssh://git@github.com/acme/widgets.git",
                "git+ssh://git@github.com/acme/widgets.git",
            ),
            ("ssh://git:pw@host/x", "ssh://git:***@host/x"),
        ];
        for (input, want) in cases {
            assert_eq!(scrub_with(input, &none), want, "{input}");
        }
    }

    #[test]
    fn sensitive_config_values_are_registered_with_their_decodings() {
        // base64("ci-user:s3cr3t-pw") as `_auth`, base64("another-pw") as `_password`.
        register_config_value(
            "//reg.example/:_auth",
            &serde_json::json!("Y2ktdXNlcjpzM2NyM3QtcHc="),
        );
        register_config_value(
            "//reg.example/:_password",
            &serde_json::json!("YW5vdGhlci1wdw=="),
        );
        let out = scrub("a Y2ktdXNlcjpzM2NyM3QtcHc= b ci-user:s3cr3t-pw c s3cr3t-pw d another-pw");
        assert_eq!(out, "a *** b *** c *** d ***");
        // Secret::new registers too.
        let _s = Secret::new("npm_RegisteredByNew".to_string());
        assert_eq!(scrub("x npm_RegisteredByNew y"), "x *** y");
    }
}
