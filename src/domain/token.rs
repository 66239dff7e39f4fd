//! Bearer-token lifetimes: the `--expires-in` durations an admin types
//! (`90d`, `12h`, `30m`) and the rule that says whether a token has expired
//! at `now`. Pure: the store and the server pass the clock's `now` in.

use chrono::{DateTime, Duration, Utc};

/// Longest lifetime `--expires-in` accepts (ten years): a typo such as
/// `90000d` is refused instead of issuing a token that never ends.
pub const MAX_LIFETIME_DAYS: i64 = 3650;

/// Why an `--expires-in` value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    #[error("invalid duration {0:?}: write a whole number and a unit, d (days), h (hours) or m (minutes), e.g. 90d")]
    Malformed(String),
    #[error("invalid duration {0:?}: it must be longer than zero")]
    Zero(String),
    #[error("invalid duration {0:?}: at most {MAX_LIFETIME_DAYS} days")]
    TooLong(String),
}

/// Parses `90d`, `12h` or `30m` (a whole number, then one unit).
pub fn parse_lifetime(text: &str) -> Result<Duration, DurationError> {
    let malformed = || DurationError::Malformed(text.to_string());
    let trimmed = text.trim();
    let unit = trimmed.chars().last().ok_or_else(malformed)?;
    let digits = &trimmed[..trimmed.len() - unit.len_utf8()];
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(malformed());
    }
    let count: i64 = digits.parse().map_err(|_| DurationError::TooLong(text.to_string()))?;
    let minutes_per_unit = match unit {
        'd' => 24 * 60,
        'h' => 60,
        'm' => 1,
        _ => return Err(malformed()),
    };
    if count == 0 {
        return Err(DurationError::Zero(text.to_string()));
    }
    let minutes = count.checked_mul(minutes_per_unit).ok_or_else(|| DurationError::TooLong(text.to_string()))?;
    if minutes > MAX_LIFETIME_DAYS * 24 * 60 {
        return Err(DurationError::TooLong(text.to_string()));
    }
    Ok(Duration::minutes(minutes))
}

/// Whether a token expiring at `expires_at` (never, when `None`) is
/// expired at `now`. The instant of expiry itself is expired.
pub fn is_expired(expires_at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
    expires_at.is_some_and(|at| now >= at)
}

/// The lifetime a rotated token keeps when no new one is given: the one
/// the old token was issued with, if it had one.
pub fn carried_lifetime(issued_at: Option<DateTime<Utc>>, expires_at: Option<DateTime<Utc>>) -> Option<Duration> {
    match (issued_at, expires_at) {
        (Some(issued), Some(expires)) if expires > issued => Some(expires - issued),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).unwrap()
    }

    #[test]
    fn lifetimes_in_days_hours_and_minutes() {
        assert_eq!(parse_lifetime("90d"), Ok(Duration::days(90)));
        assert_eq!(parse_lifetime("12h"), Ok(Duration::hours(12)));
        assert_eq!(parse_lifetime("30m"), Ok(Duration::minutes(30)));
        assert_eq!(parse_lifetime(" 1d "), Ok(Duration::days(1)));
        assert_eq!(parse_lifetime("3650d"), Ok(Duration::days(3650)));
    }

    #[test]
    fn bad_lifetimes_are_refused_with_a_reason() {
        for bad in ["", "d", "90", "90s", "90 d", "-1d", "1.5d", "+3h", "9０d", "d90", "90dd"] {
            assert!(matches!(parse_lifetime(bad), Err(DurationError::Malformed(_))), "{bad:?}");
        }
        assert_eq!(parse_lifetime("0h"), Err(DurationError::Zero("0h".into())));
        assert_eq!(parse_lifetime("3651d"), Err(DurationError::TooLong("3651d".into())));
        assert!(matches!(parse_lifetime("99999999999999999999m"), Err(DurationError::TooLong(_))));
        assert!(parse_lifetime("90x").unwrap_err().to_string().contains("90d"), "the message shows an example");
    }

    #[test]
    fn the_instant_of_expiry_is_expired() {
        let at = t0();
        assert!(!is_expired(Some(at), at - Duration::microseconds(1)));
        assert!(is_expired(Some(at), at));
        assert!(is_expired(Some(at), at + Duration::seconds(1)));
        assert!(!is_expired(None, at + Duration::days(100_000)));
    }

    #[test]
    fn a_rotation_keeps_the_old_lifetime() {
        let issued = t0();
        assert_eq!(carried_lifetime(Some(issued), Some(issued + Duration::days(90))), Some(Duration::days(90)));
        assert_eq!(carried_lifetime(Some(issued), None), None);
        assert_eq!(carried_lifetime(None, Some(issued)), None);
        assert_eq!(carried_lifetime(Some(issued), Some(issued)), None);
    }
}
