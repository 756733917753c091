//! Local days in one time zone: which day an instant falls on, where a day starts and ends, and
//! the midnights between two instants (DST days are 23 or 25 hours long).

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ZonedDateTime};

/// A local calendar day, as `yyyymmdd` (sorts like the date, readable in SQL).
pub type DayNum = i32;

#[derive(Debug, Clone)]
pub struct Calendar {
    tz: TimeZone,
}

impl Calendar {
    pub fn new(tz: TimeZone) -> Calendar {
        Calendar { tz }
    }

    /// The system's zone (`TZ` honoured), UTC if it cannot be found.
    pub fn system() -> Calendar {
        Calendar::new(TimeZone::try_system().unwrap_or(TimeZone::UTC))
    }

    pub fn tz(&self) -> &TimeZone {
        &self.tz
    }

    /// A name for the zone that changes when its rules could change (stored with the rollups).
    pub fn tz_name(&self) -> String {
        self.tz.iana_name().map(str::to_string).unwrap_or_else(|| {
            // A zone without a name (e.g. a POSIX TZ string): identify it by two offsets.
            let jan = Timestamp::from_second(1_700_000_000).unwrap_or(Timestamp::UNIX_EPOCH);
            let jul = Timestamp::from_second(1_688_000_000).unwrap_or(Timestamp::UNIX_EPOCH);
            format!(
                "fixed:{}/{}",
                self.tz.to_offset(jan),
                self.tz.to_offset(jul)
            )
        })
    }

    pub fn zoned(&self, ms: i64) -> ZonedDateTime {
        Timestamp::from_millisecond(ms)
            .unwrap_or(Timestamp::UNIX_EPOCH)
            .to_zoned_datetime(self.tz.clone())
    }

    pub fn date_of(&self, ms: i64) -> Date {
        self.zoned(ms).date()
    }

    pub fn day_of(&self, ms: i64) -> DayNum {
        day_num(self.date_of(ms))
    }

    /// Start of the local day (the first instant of the date, which is not always 00:00).
    pub fn start_of(&self, date: Date) -> i64 {
        date.to_zoned_datetime(self.tz.clone())
            .and_then(|z| z.start_of_day())
            .map(|z| z.timestamp().as_millisecond())
            .unwrap_or(0)
    }

    /// `[start, end)` of a local day in unix ms.
    pub fn bounds(&self, date: Date) -> (i64, i64) {
        let next = date.tomorrow().unwrap_or(date);
        (self.start_of(date), self.start_of(next))
    }

    /// Every local midnight from the one at or before `start_ms` to the first at or after
    /// `end_ms`, so that any span inside `[start, end]` can be split with them.
    pub fn midnights(&self, start_ms: i64, end_ms: i64) -> Vec<i64> {
        let mut date = self.date_of(start_ms);
        let mut out = vec![self.start_of(date)];
        while *out.last().unwrap_or(&i64::MAX) < end_ms {
            match date.tomorrow() {
                Ok(next) => {
                    date = next;
                    out.push(self.start_of(date));
                }
                Err(_) => break,
            }
        }
        out
    }

    /// RFC 3339 with the local offset, e.g. `2026-11-25T09:00:00+01:00`.
    pub fn rfc3339(&self, ms: i64) -> String {
        let z = self.zoned(ms);
        z.timestamp().display_with_offset(z.offset()).to_string()
    }
}

/// The midnights of a calendar for [`crate::timeline::Crediter`], remembering the day last
/// looked up: heartbeats come in time order, so almost every lookup hits it and skips the time
/// zone arithmetic.
pub struct DayEnds<'a> {
    cal: &'a Calendar,
    /// `[start, end)` of the day last looked up.
    day: (i64, i64),
}

impl Calendar {
    pub fn day_ends(&self) -> DayEnds<'_> {
        DayEnds {
            cal: self,
            day: (0, 0),
        }
    }
}

impl crate::timeline::Midnights for DayEnds<'_> {
    fn after(&mut self, t: i64) -> i64 {
        if !(self.day.0 <= t && t < self.day.1) {
            self.day = self.cal.bounds(self.cal.date_of(t));
        }
        self.day.1
    }
}

/// Now, in unix milliseconds (the one clock every part reads).
pub fn now_ms() -> i64 {
    Timestamp::now().as_millisecond()
}

/// Now, in unix seconds.
pub fn now_seconds() -> f64 {
    now_ms() as f64 / 1000.0
}

pub fn day_num(date: Date) -> DayNum {
    i32::from(date.year()) * 10_000 + i32::from(date.month()) * 100 + i32::from(date.day())
}

pub fn date_of_num(day: DayNum) -> Option<Date> {
    Date::new(
        i16::try_from(day / 10_000).ok()?,
        i8::try_from(day / 100 % 100).ok()?,
        i8::try_from(day % 100).ok()?,
    )
    .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cal(name: &str) -> Calendar {
        Calendar::new(TimeZone::get(name).unwrap())
    }

    #[test]
    fn dst_days_have_their_real_length() {
        let c = cal("Europe/Berlin");
        let spring = Date::new(2026, 3, 29).unwrap();
        let (a, b) = c.bounds(spring);
        assert_eq!(b - a, 23 * 3600 * 1000);
        let autumn = Date::new(2026, 10, 25).unwrap();
        let (a, b) = c.bounds(autumn);
        assert_eq!(b - a, 25 * 3600 * 1000);
    }

    #[test]
    fn day_numbers_round_trip() {
        let d = Date::new(2026, 11, 25).unwrap();
        assert_eq!(day_num(d), 20261125);
        assert_eq!(date_of_num(20261125), Some(d));
        assert_eq!(date_of_num(20261345), None);
    }

    #[test]
    fn midnights_cover_the_range() {
        let c = cal("UTC");
        let day = 86_400_000;
        assert_eq!(c.midnights(day + 5, 3 * day), vec![day, 2 * day, 3 * day]);
        assert_eq!(c.midnights(day, day), vec![day]);
        assert_eq!(c.day_of(day - 1), 19700101);
        assert_eq!(c.day_of(day), 19700102);
    }

    #[test]
    fn rfc3339_carries_the_local_offset() {
        let c = cal("Europe/Berlin");
        assert_eq!(c.rfc3339(0), "1970-01-01T01:00:00+01:00");
    }
}
