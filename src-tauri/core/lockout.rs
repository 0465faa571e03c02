//! The sign-in lockout of SPEC section 2, as pure arithmetic over the failures counted for one
//! case-folded user name: from the threshold on, each further attempt waits 2, 4, 8 … seconds
//! (at most 15 minutes) after the last failure; failures older than an hour are forgotten.

use super::model::Time;
use chrono::TimeDelta;

/// The longest a sign-in lockout lasts, however many failures there were.
pub const MAX_LOCKOUT_SECONDS: i64 = 15 * 60;
/// Failures older than this are forgotten.
pub const FAILURE_MEMORY: TimeDelta = TimeDelta::hours(1);

/// The failed attempts counted for one user name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failures {
    pub count: u32,
    pub last: Time,
}

impl Failures {
    /// The count after one more failure at `now`: a count whose last failure is older than
    /// [`FAILURE_MEMORY`] starts again from one.
    pub fn after_failure(previous: Option<Failures>, now: Time) -> Failures {
        let count = match previous {
            Some(p) if now - p.last <= FAILURE_MEMORY => p.count.saturating_add(1),
            _ => 1,
        };
        Failures { count, last: now }
    }

    /// Whole seconds until the next attempt is allowed; `None` when it is allowed now.
    pub fn wait(&self, threshold: u32, now: Time) -> Option<u64> {
        if self.count < threshold || now - self.last > FAILURE_MEMORY {
            return None;
        }
        // Doubles with every failure past the threshold: 2 s, 4 s, 8 s, … up to 15 minutes.
        let exponent = (self.count - threshold + 1).min(20);
        let delay = TimeDelta::seconds(2_i64.pow(exponent).min(MAX_LOCKOUT_SECONDS));
        let left = (self.last + delay - now).num_milliseconds();
        (left > 0).then(|| (left as u64).div_ceil(1000))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn at(seconds: i64) -> Time {
        Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap() + TimeDelta::seconds(seconds)
    }

    fn failures(count: u32, last: i64) -> Failures {
        Failures {
            count,
            last: at(last),
        }
    }

    #[test]
    fn below_the_threshold_nothing_waits() {
        assert_eq!(failures(4, 0).wait(5, at(0)), None);
    }

    #[test]
    fn the_delay_doubles_from_the_threshold_on() {
        assert_eq!(failures(5, 0).wait(5, at(0)), Some(2));
        assert_eq!(failures(6, 0).wait(5, at(0)), Some(4));
        assert_eq!(failures(7, 0).wait(5, at(0)), Some(8));
        assert_eq!(failures(7, 0).wait(5, at(7)), Some(1));
        assert_eq!(failures(7, 0).wait(5, at(8)), None);
    }

    #[test]
    fn the_delay_stops_growing_at_fifteen_minutes() {
        assert_eq!(failures(15, 0).wait(5, at(0)), Some(900));
        assert_eq!(failures(1000, 0).wait(5, at(0)), Some(900));
        assert_eq!(failures(u32::MAX, 0).wait(5, at(900)), None);
    }

    #[test]
    fn failures_older_than_an_hour_are_forgotten() {
        assert_eq!(failures(50, 0).wait(5, at(3601)), None);
        assert_eq!(
            Failures::after_failure(Some(failures(50, 0)), at(3601)).count,
            1
        );
        assert_eq!(
            Failures::after_failure(Some(failures(50, 0)), at(3600)).count,
            51
        );
        assert_eq!(Failures::after_failure(None, at(9)), failures(1, 9));
    }

    #[test]
    fn a_partial_second_is_waited_in_full() {
        let last = at(0) + TimeDelta::milliseconds(1);
        let f = Failures { count: 5, last };
        assert_eq!(f.wait(5, at(1)), Some(2));
    }
}
