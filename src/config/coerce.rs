//! nopt's type checks and coercions of parsed values.

use serde_json::Value as Json;
use url::Url;

use super::error::{self, ConfigError};
use super::ini;
use super::keys::{js_to_number, key_type, KeyType};
use super::value::ConfigValue;
use crate::js::{js_trim, to_js_string, truthy};

pub(super) fn truthy_ini(v: &ini::IniValue) -> bool {
    match v {
        ini::IniValue::Scalar(j) => truthy(j),
        ini::IniValue::Array(_) => true,
    }
}

/// nopt's `url` type: `url.parse(value).href` of node's legacy parser when
/// it has a host. Reproduced for the cases registries use: scheme and host
/// lower-cased, an explicit port kept as written, `/` for an empty path.
pub(super) fn legacy_href(s: &str) -> Option<String> {
    let t = js_trim(s);
    let (scheme, rest) = t.split_once("://")?;
    if scheme.is_empty()
        || !scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        || !scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
    {
        return None;
    }
    let parsed = Url::parse(t).ok()?;
    let host = parsed.host_str().filter(|h| !h.is_empty())?;
    let authority_end = rest.find(['/', '?', '#', '\\']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let host_part = authority.rsplit('@').next().unwrap_or(authority);
    let port = match host_part.rfind(':') {
        Some(i)
            if !host_part[i..].contains(']')
                && host_part[i + 1..].chars().all(|c| c.is_ascii_digit()) =>
        {
            &host_part[i..]
        }
        _ => "",
    };
    let userinfo = if parsed.username().is_empty() && parsed.password().is_none() {
        String::new()
    } else {
        match parsed.password() {
            Some(p) => format!("{}:{p}@", parsed.username()),
            None => format!("{}@", parsed.username()),
        }
    };
    let mut href = format!(
        "{}://{userinfo}{host}{port}{}",
        scheme.to_ascii_lowercase(),
        parsed.path()
    );
    if let Some(q) = parsed.query() {
        href.push('?');
        href.push_str(q);
    }
    if let Some(frag) = parsed.fragment() {
        href.push('#');
        href.push_str(frag);
    }
    Some(href)
}

/// Whether npm can use `s` as a registry URL: nopt's `url` type accepts it
/// (it has a host) and `new URL(s)` does not throw.
pub(super) fn is_registry_url(s: &str) -> bool {
    legacy_href(s).is_some()
}

/// `encodeURIComponent(s) === s`.
pub(super) fn is_uri_component_safe(s: &str) -> bool {
    s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_.!~*'()".contains(c))
}

/// nopt's Boolean validation of a parsed value.
pub(super) fn coerce_bool(v: &Json) -> Option<bool> {
    match v {
        Json::Bool(b) => Some(*b),
        Json::Null => Some(false),
        Json::Number(n) => Some(n.as_f64().is_some_and(|f| f != 0.0)),
        Json::String(s) => {
            let s = js_trim(s);
            Some(match js_to_number(s) {
                Some(n) => n != 0.0 && !n.is_nan(),
                None => !(s == "null" || s == "false"),
            })
        }
        Json::Array(_) | Json::Object(_) => None,
    }
}

/// nopt's Number validation of a parsed value.
pub(super) fn coerce_number(v: &Json) -> Option<f64> {
    match v {
        Json::Number(n) => n.as_f64(),
        Json::String(s) => js_to_number(s),
        Json::Bool(b) => Some(if *b { 1.0 } else { 0.0 }),
        Json::Null => Some(0.0),
        Json::Array(_) | Json::Object(_) => None,
    }
}

/// nopt's String validation (`String(val)`) of a scalar.
pub(super) fn coerce_str(v: &Json) -> Option<String> {
    match v {
        Json::Array(_) | Json::Object(_) => None,
        other => Some(to_js_string(other)),
    }
}

/// A `script-shell` value as run-script receives it: a non-empty string.
pub(super) fn script_shell_of(v: &ConfigValue) -> Option<String> {
    coerce_nullable_str(&v.value)
        .flatten()
        .filter(|s| !s.is_empty())
}

/// `[null, String]`: `null`/`"null"` is no value.
pub(super) fn coerce_nullable_str(v: &Json) -> Option<Option<String>> {
    match v {
        Json::Null => Some(None),
        Json::String(s) if js_trim(s) == "null" => Some(None),
        other => coerce_str(other).map(Some),
    }
}

/// A fixed list of strings (plus `null`, which `false` also becomes).
pub(super) fn coerce_enum(v: &Json, values: &[&str], nullable: bool) -> Option<Option<String>> {
    match v {
        Json::Null | Json::Bool(false) if nullable => Some(None),
        Json::String(s) if nullable && js_trim(s) == "null" => Some(None),
        Json::String(s) if values.contains(&js_trim(s)) => Some(Some(js_trim(s).to_string())),
        _ => None,
    }
}

pub(super) fn describe_type(ty: KeyType) -> String {
    match ty {
        KeyType::Url => "a full url with \"http://\"".to_string(),
        KeyType::Str => "a string".to_string(),
        KeyType::NullableStr => "a string".to_string(),
        KeyType::Bool | KeyType::NullableBool => "a boolean value (true or false)".to_string(),
        KeyType::Number => "a finite, non-negative number".to_string(),
        KeyType::Path => "a valid filesystem path".to_string(),
        KeyType::Enum { values, nullable } => {
            let mut all: Vec<&str> = Vec::new();
            if nullable {
                all.push("null");
            }
            all.extend(values.iter());
            format!("one of: {}", all.join(", "))
        }
        KeyType::Other | KeyType::Unknown => "a value".to_string(),
    }
}

/// The validation npm runs on each layer (nopt's `clean`), as an error.
pub(super) fn validate_value(v: &ConfigValue) -> Result<(), ConfigError> {
    let ty = key_type(&v.key);
    let ok = match ty {
        KeyType::Url => matches!(&v.value, Json::String(s) if is_registry_url(s)),
        KeyType::Str => coerce_str(&v.value).is_some(),
        KeyType::NullableStr => coerce_nullable_str(&v.value).is_some(),
        KeyType::Bool | KeyType::NullableBool => coerce_bool(&v.value).is_some(),
        KeyType::Number => coerce_number(&v.value).is_some_and(|n| n.is_finite() && n >= 0.0),
        KeyType::Path => !matches!(v.value, Json::Bool(_) | Json::Array(_) | Json::Object(_)),
        KeyType::Enum { values, nullable } => coerce_enum(&v.value, values, nullable).is_some(),
        KeyType::Other | KeyType::Unknown => true,
    };
    if ok {
        return Ok(());
    }
    Err(ConfigError::InvalidValue {
        key: v.key.clone(),
        value: error::shown_value(&v.key, &to_js_string(&v.value)),
        origin: v.origin.clone(),
        expected: describe_type(ty),
    })
}
