//! Civil UTC times without a date crate: days since the epoch to a calendar date by the
//! usual era arithmetic (Howard Hinnant's algorithm: 400-year eras of 146097 days, years
//! counted from March). For the timestamps rlxc writes: a created config's header, log files.

use std::time::{SystemTime, UNIX_EPOCH};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UtcTime {
    pub year: u64,
    pub month: u64,
    pub day: u64,
    pub hour: u64,
    pub minute: u64,
    pub second: u64,
    pub micros: u32,
}

impl UtcTime {
    pub fn now() -> UtcTime {
        UtcTime::of(SystemTime::now())
    }

    /// A time before the epoch counts as the epoch.
    pub fn of(time: SystemTime) -> UtcTime {
        let since_epoch = time.duration_since(UNIX_EPOCH).unwrap_or_default();
        let seconds = since_epoch.as_secs();
        let days = seconds / 86_400;
        let of_day = seconds % 86_400;
        let shifted = days + 719_468; // days from 0000-03-01 to 1970-01-01
        let era = shifted / 146_097;
        let day_of_era = shifted % 146_097;
        let year_of_era =
            (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
        let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
        let month_from_march = (5 * day_of_year + 2) / 153;
        let month = if month_from_march < 10 {
            month_from_march + 3
        } else {
            month_from_march - 9
        };
        UtcTime {
            year: year_of_era + era * 400 + u64::from(month <= 2),
            month,
            day: day_of_year - (153 * month_from_march + 2) / 5 + 1,
            hour: of_day / 3600,
            minute: of_day % 3600 / 60,
            second: of_day % 60,
            micros: since_epoch.subsec_micros(),
        }
    }

    /// `YYYY-MM-DD HH:MM:SS UTC`
    pub fn readable(&self) -> String {
        format!(
            "{} {:02}:{:02}:{:02} UTC",
            self.date(),
            self.hour,
            self.minute,
            self.second
        )
    }

    /// RFC 3339 with microseconds: `YYYY-MM-DDTHH:MM:SS.uuuuuuZ`
    pub fn rfc3339(&self) -> String {
        format!(
            "{}T{:02}:{:02}:{:02}.{:06}Z",
            self.date(),
            self.hour,
            self.minute,
            self.second,
            self.micros
        )
    }

    fn date(&self) -> String {
        format!("{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn at(seconds: u64, micros: u32) -> UtcTime {
        UtcTime::of(
            UNIX_EPOCH + Duration::from_secs(seconds) + Duration::from_micros(micros.into()),
        )
    }

    #[test]
    fn times_are_civil_utc_dates() {
        assert_eq!(at(0, 0).readable(), "1970-01-01 00:00:00 UTC");
        assert_eq!(
            at(951_782_400 + 3_723, 0).readable(),
            "2000-02-29 01:02:03 UTC"
        );
        assert_eq!(at(0, 0).rfc3339(), "1970-01-01T00:00:00.000000Z");
        // A leap day, its last second, the day after, and the turn of a century that is a
        // leap year.
        assert_eq!(at(951_782_400, 5).rfc3339(), "2000-02-29T00:00:00.000005Z");
        assert_eq!(
            at(951_868_799, 999_999).rfc3339(),
            "2000-02-29T23:59:59.999999Z"
        );
        assert_eq!(at(951_868_800, 0).rfc3339(), "2000-03-01T00:00:00.000000Z");
        assert_eq!(
            at(1_795_957_512, 123_456).rfc3339(),
            "2026-11-29T13:05:12.123456Z"
        );
        // 2100 is not a leap year.
        assert_eq!(
            at(4_107_542_400, 0).rfc3339(),
            "2100-03-01T00:00:00.000000Z"
        );
    }

    #[test]
    fn a_time_before_the_epoch_is_the_epoch() {
        let before = UNIX_EPOCH - Duration::from_secs(10);
        assert_eq!(UtcTime::of(before).readable(), "1970-01-01 00:00:00 UTC");
    }
}
