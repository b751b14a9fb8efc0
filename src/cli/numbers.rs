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

/// A finite number that fits a 32-bit float: one beyond its range (about 3.4e38) would become
/// infinite and be reported as `inf`, not as what was typed. Each flag's range is checked by
/// the parsers below.
pub fn float(text: &str) -> Result<f32, String> {
    let value = finite(text)?;
    if value.abs() > f64::from(f32::MAX) {
        return Err("is beyond a 32-bit float's range (about ±3.4e38)".into());
    }
    Ok(value as f32)
}

/// A number above 0 (learning rates, ε, the step schedule's factor).
pub fn positive(text: &str) -> Result<f32, String> {
    let value = float(text)?;
    if value > 0.0 {
        Ok(value)
    } else {
        Err("must be a number above 0".into())
    }
}

/// A number from 0 up (weight decay, max-norm, the distortions' bounds).
pub fn non_negative(text: &str) -> Result<f32, String> {
    let value = float(text)?;
    if value >= 0.0 {
        // -0 is 0.
        Ok(value.abs())
    } else {
        Err("must be 0 or more".into())
    }
}

/// A fraction from 0 up to, not including, 1 (momentum, decays, dropout rates).
pub fn fraction(text: &str) -> Result<f32, String> {
    let value = float(text)?;
    if (0.0..1.0).contains(&value) {
        Ok(value.abs())
    } else {
        Err("must be at least 0 and below 1".into())
    }
}

/// Rounds, fractions allowed, from 0 up (warm-up).
pub fn rounds(text: &str) -> Result<f64, String> {
    let value = finite(text)?;
    if value >= 0.0 {
        Ok(value.abs())
    } else {
        Err("must be 0 or more rounds".into())
    }
}

/// A percentage above 0 and at most 100 (a target accuracy).
pub fn percentage(text: &str) -> Result<f64, String> {
    let value = finite(text)?;
    if value > 0.0 && value <= 100.0 {
        Ok(value)
    } else {
        Err("must be a percentage above 0 and at most 100".into())
    }
}

/// A decimal number that is neither infinite nor NaN. Text too long to be a number someone
/// typed is refused before parsing.
fn finite(text: &str) -> Result<f64, String> {
    let trimmed = text.trim();
    if trimmed.len() > MAX_NUMBER_CHARS {
        return Err(format!(
            "is too long for a number (over {MAX_NUMBER_CHARS} characters)"
        ));
    }
    let value: f64 = trimmed
        .parse()
        .map_err(|_| "must be a number".to_string())?;
    if !value.is_finite() {
        return Err("must be a finite number".into());
    }
    Ok(value)
}

/// The longest number text accepted.
const MAX_NUMBER_CHARS: usize = 100;

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
        assert!(float("-inf").unwrap_err().contains("finite"));
        assert!(float("NaN").unwrap_err().contains("finite"));
        assert!(positive("-0").is_err());
        assert_eq!(non_negative("-0"), Ok(0.0));
        assert!(fraction("1").is_err());
        assert!(percentage("1e-300").is_ok() && percentage("0").is_err());
        assert!(
            seed("99999999999999999999")
                .unwrap_err()
                .contains("too large")
        );
    }
}
