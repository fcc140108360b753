//! Seconds since 1970 as UTC dates (the id token's `exp` and `iat`).

use std::time::{SystemTime, UNIX_EPOCH};

pub(super) fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// `2026-11-22T23:55:00Z`.
pub fn utc(secs: i64) -> String {
    // A claim can hold any number (`i64::MIN`): only years 0000 to 9999
    // are shown as dates.
    let t = match time::OffsetDateTime::from_unix_timestamp(secs) {
        Ok(t) if is_real_time(secs) => t,
        _ => return format!("{secs} (seconds since 1970: not a real date)"),
    };
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// Whether `secs` since 1970 falls in the years 0000 to 9999.
pub(super) fn is_real_time(secs: i64) -> bool {
    (-62_167_219_200..=253_402_300_799).contains(&secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_formats_epoch_seconds() {
        assert_eq!(utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(utc(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(utc(1_795_391_700), "2026-11-22T23:55:00Z");
        assert_eq!(utc(253_402_300_799), "9999-12-31T23:59:59Z");
        assert_eq!(utc(-62_167_219_200), "0000-01-01T00:00:00Z");
        assert_eq!(
            utc(i64::MIN),
            "-9223372036854775808 (seconds since 1970: not a real date)"
        );
        assert_eq!(
            utc(i64::MAX),
            "9223372036854775807 (seconds since 1970: not a real date)"
        );
    }
}
