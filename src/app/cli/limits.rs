//! Limits on command-line numbers: the same bounds and messages as the task lines they override
//! (`crate::spec::resolve::limits`), so that a flag can never ask for more than a task file can
//! (`--gpus 100000000` used to allocate 4 GB and abort).

use crate::error::{Error, Result};

/// A whole-number flag: at least 1 and at most `max`.
pub fn count(flag: &str, v: u64, max: u64) -> Result<u64> {
    if v == 0 {
        return Err(Error::Usage(format!(
            "{flag}: is 0; must be greater than 0: give a value of at least 1"
        )));
    }
    if v > max {
        return Err(Error::Usage(format!(
            "{flag}: {v} is above the supported maximum {max}; check the number (pdplan refuses \
             sizes that would make its search unbounded)"
        )));
    }
    Ok(v)
}

/// [`count`] of an optional flag.
pub fn opt_count(flag: &str, v: Option<u64>, max: u64) -> Result<Option<u64>> {
    v.map(|v| count(flag, v, max)).transpose()
}

/// A rate flag: a finite number greater than 0 (as a task's `Target request rate` line).
pub fn rate(flag: &str, v: f64) -> Result<f64> {
    if !(v.is_finite() && v > 0.0) {
        return Err(Error::Usage(format!(
            "{flag}: {v} must be a finite number greater than 0 (requests/s)"
        )));
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_and_messages() {
        assert_eq!(count("--gpus", 8, 10).unwrap(), 8);
        let e = count("--gpus", u64::MAX, 10_000_000).unwrap_err();
        assert!(
            e.to_string().contains("above the supported maximum 10000000"),
            "{e}"
        );
        assert_eq!(e.exit_code(), crate::error::exit::BAD_INPUT);
        assert!(
            count("--gpus", 0, 10)
                .unwrap_err()
                .to_string()
                .contains("at least 1")
        );
        assert!(rate("--rate", f64::INFINITY).is_err() && rate("--rate", -1.0).is_err());
        assert_eq!(opt_count("--tp", None, 1).unwrap(), None);
    }
}
