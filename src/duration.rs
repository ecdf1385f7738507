//! Durations as people write them in flags and variables: `10`, `2.5s`, `500ms`, `5m`.

use std::time::Duration;

/// Parses a positive duration; a bare number means seconds.
pub fn parse(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let (number, scale) = if let Some(n) = t.strip_suffix("ms") {
        (n, 0.001)
    } else if let Some(n) = t.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = t.strip_suffix('m') {
        (n, 60.0)
    } else if let Some(n) = t.strip_suffix('h') {
        (n, 3600.0)
    } else {
        (t, 1.0)
    };
    number
        .trim()
        .parse::<f64>()
        .ok()
        .map(|n| n * scale)
        .filter(|s| s.is_finite() && *s > 0.0 && *s < 1e9)
        .map(Duration::from_secs_f64)
        .ok_or_else(|| {
            format!(
                "{} is not a duration (examples: 10, 2.5s, 500ms, 5m)",
                crate::key::quoted_unless_key(text)
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_given_as_a_duration_is_not_shown() {
        let key = format!("wandb_v1_{}", "k".repeat(77));
        let err = parse(&key).unwrap_err();
        assert!(
            !err.contains(&key) && err.contains("looks like an API key"),
            "{err}"
        );
        assert!(
            parse("soon")
                .unwrap_err()
                .starts_with("\"soon\" is not a duration")
        );
    }

    #[test]
    fn reads_common_forms() {
        assert_eq!(parse("10"), Ok(Duration::from_secs(10)));
        assert_eq!(parse("2.5s"), Ok(Duration::from_millis(2500)));
        assert_eq!(parse("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse(" 5m "), Ok(Duration::from_secs(300)));
        for bad in ["", "0", "-1", "soon", "1d", "inf"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
