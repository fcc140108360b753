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

use std::fmt;

/// A value that must never be printed: `{}` and `{:?}` both give `****`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret<T>(T);

impl<T> Secret<T> {
    pub fn new(value: T) -> Secret<T> {
        Secret(value)
    }

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

impl<T> From<T> for Secret<T> {
    fn from(value: T) -> Secret<T> {
        Secret(value)
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
}
