//! Parsers of numeric flag values with messages in plain words; clap adds the flag and the
//! value ("invalid value '-1' for '--seed <SEED>': …").

/// A whole number from 0 up.
pub fn whole(text: &str) -> Result<usize, String> {
    parse_whole(text, 0)
}

/// A whole number from 1 up.
pub fn at_least_one(text: &str) -> Result<usize, String> {
    match parse_whole(text, 1)? {
        0 => Err("must be at least 1".into()),
        n => Ok(n),
    }
}

/// A whole number from 0 up that fits 64 bits (seeds).
pub fn seed(text: &str) -> Result<u64, String> {
    parse_whole(text, 0)
}

/// A number that fits a 32-bit float: one beyond its range (about 3.4e38) would become
/// infinite and be reported as `inf`, not as what was typed. Range checks stay with the flag.
pub fn float(text: &str) -> Result<f32, String> {
    let value: f64 = text
        .trim()
        .parse()
        .map_err(|_| "must be a number".to_string())?;
    if value.is_finite() && value.abs() > f64::from(f32::MAX) {
        return Err("is beyond a 32-bit float's range (about ±3.4e38)".into());
    }
    Ok(value as f32)
}

/// A whole number; `least` (0 or 1) is named in the message for a negative one.
fn parse_whole<T: std::str::FromStr>(text: &str, least: u8) -> Result<T, String> {
    let trimmed = text.trim();
    if let Ok(value) = trimmed.parse::<T>() {
        return Ok(value);
    }
    if trimmed.starts_with('-') && trimmed[1..].chars().all(|c| c.is_ascii_digit()) {
        return Err(format!(
            "must be a whole number {least} or more, not negative"
        ));
    }
    if !trimmed.is_empty() && trimmed.chars().all(|c| c.is_ascii_digit()) {
        return Err("is too large a number".into());
    }
    Err("expected a whole number such as 10".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_say_what_is_wrong() {
        assert_eq!(whole("12"), Ok(12));
        assert_eq!(at_least_one("1"), Ok(1));
        assert!(at_least_one("0").unwrap_err().contains("at least 1"));
        assert!(whole("-1").unwrap_err().contains("not negative"));
        assert!(whole("ten").unwrap_err().contains("whole number"));
        assert!(whole("1.5").unwrap_err().contains("whole number"));
        assert!(
            seed("99999999999999999999")
                .unwrap_err()
                .contains("too large")
        );
    }
}
