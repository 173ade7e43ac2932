//! Durations (`5m`, `1h30m`), days (`Mon-Fri`), time ranges (`22:00-06:00`) and `until` dates.

use std::time::Duration;

use jiff::civil::{Date, DateTime, Time, Weekday};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};

/// Parses `90s`, `5m`, `1h30m`, `2d`: one or more number-unit pairs.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let invalid = || format!("`{text}` is not a duration; write it like `30s`, `5m`, `1h30m` or `1d`");
    let mut seconds: u64 = 0;
    let mut number = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86400,
            _ => return Err(invalid()),
        };
        let n: u64 = number.parse().map_err(|_| invalid())?;
        seconds = n
            .checked_mul(unit)
            .and_then(|s| s.checked_add(seconds))
            .ok_or_else(invalid)?;
        number.clear();
    }
    if !number.is_empty() || text.is_empty() {
        return Err(invalid());
    }
    if seconds == 0 {
        return Err(format!("`{text}` is zero; a duration must be longer than that"));
    }
    if seconds > 7 * 86400 {
        return Err(format!("`{text}` is longer than the longest allowed duration, 7d"));
    }
    Ok(Duration::from_secs(seconds))
}

/// Writes a duration the way the policy language reads it.
pub fn format_duration(duration: Duration) -> String {
    let mut rest = duration.as_secs();
    let mut out = String::new();
    for (unit, size) in [("d", 86400), ("h", 3600), ("m", 60), ("s", 1)] {
        if rest >= size {
            out.push_str(&format!("{}{unit}", rest / size));
            rest %= size;
        }
    }
    if out.is_empty() { "0s".into() } else { out }
}

const DAY_NAMES: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

/// Days of the week as bits, Monday first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Days(u8);

impl Days {
    pub const ALL: Days = Days(0x7f);

    /// Parses `Mon`, `Mon-Fri`, `Fri-Mon` (wraps over the weekend).
    pub fn parse(text: &str) -> Result<Days, String> {
        let day = |name: &str| {
            DAY_NAMES
                .iter()
                .position(|d| d.eq_ignore_ascii_case(name))
                .ok_or_else(|| format!("`{name}` is not a day; days are Mon, Tue, Wed, Thu, Fri, Sat and Sun"))
        };
        match text.split_once('-') {
            None => Ok(Days(1 << day(text)?)),
            Some((first, last)) => {
                let (first, last) = (day(first)?, day(last)?);
                let mut bits = 0;
                let mut d = first;
                loop {
                    bits |= 1 << d;
                    if d == last {
                        break;
                    }
                    d = (d + 1) % 7;
                }
                Ok(Days(bits))
            }
        }
    }

    /// The days as stored in a compiled snapshot.
    pub(crate) fn bits(self) -> u8 {
        self.0
    }

    /// Days read back from a snapshot; `None` for bits no day has.
    pub(crate) fn from_bits(bits: u8) -> Option<Days> {
        (bits & !Days::ALL.0 == 0).then_some(Days(bits))
    }

    pub fn union(self, other: Days) -> Days {
        Days(self.0 | other.0)
    }

    pub fn contains(self, day: Weekday) -> bool {
        self.0 & (1 << day.to_monday_zero_offset()) != 0
    }

    fn contains_day_before(self, day: Weekday) -> bool {
        self.0 & (1 << ((day.to_monday_zero_offset() + 6) % 7)) != 0
    }
}

/// A daily window in minutes after midnight; `end < start` wraps past midnight.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimeRange {
    start: u16,
    end: u16,
}

impl TimeRange {
    /// Parses `09:00-17:00`, `22:00-06:00`; `24:00` may end a range.
    pub fn parse(text: &str) -> Result<TimeRange, String> {
        let (start, end) = text
            .split_once('-')
            .ok_or_else(|| format!("`{text}` is not a time range; write it like `09:00-17:00`"))?;
        let (start, end) = (minutes(start, false)?, minutes(end, true)?);
        if start == end {
            return Err(format!("`{text}` is empty: it starts where it ends"));
        }
        Ok(TimeRange { start, end })
    }

    /// The window as stored in a compiled snapshot: minutes after midnight.
    pub(crate) fn minutes(self) -> (u16, u16) {
        (self.start, self.end)
    }

    /// A window read back from a snapshot; `None` for one `parse` never makes.
    pub(crate) fn from_minutes(start: u16, end: u16) -> Option<TimeRange> {
        (start < 24 * 60 && end <= 24 * 60 && start != end).then_some(TimeRange { start, end })
    }

    fn wraps(self) -> bool {
        self.end < self.start
    }
}

fn minutes(text: &str, may_be_24: bool) -> Result<u16, String> {
    let invalid = || format!("`{text}` is not a time of day; write it like `09:00` or `17:30`");
    let (h, m) = text.split_once(':').ok_or_else(invalid)?;
    if h.is_empty() || h.len() > 2 || m.len() != 2 || !(h.chars().chain(m.chars()).all(|c| c.is_ascii_digit())) {
        return Err(invalid());
    }
    let (h, m): (u16, u16) = (h.parse().map_err(|_| invalid())?, m.parse().map_err(|_| invalid())?);
    if m > 59 || h > 24 || (h == 24 && (m != 0 || !may_be_24)) {
        return Err(invalid());
    }
    Ok(h * 60 + m)
}

/// `when DAYS [TIME-TIME,...]`: the days a window opens on, and the windows.
/// A window that wraps past midnight belongs to the day it opens on:
/// `when Fri 22:00-06:00` matches Friday 23:00 and Saturday 05:00.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct When {
    pub days: Days,
    pub ranges: Vec<TimeRange>,
}

impl When {
    pub fn matches(&self, at: DateTime) -> bool {
        let today = at.weekday();
        if self.ranges.is_empty() {
            return self.days.contains(today);
        }
        let minute = at.hour() as u16 * 60 + at.minute() as u16;
        self.ranges.iter().any(|r| {
            if !r.wraps() {
                self.days.contains(today) && (r.start..r.end).contains(&minute)
            } else {
                (self.days.contains(today) && minute >= r.start)
                    || (self.days.contains_day_before(today) && minute < r.end)
            }
        })
    }
}

/// Parses an `until` value, `2026-12-31` or `2026-12-31T18:00`, into the first
/// moment at which the rule no longer matches: the end of a bare date's day,
/// or the minute given.
pub fn parse_until(text: &str, zone: &TimeZone) -> Result<Timestamp, String> {
    let invalid = || format!("`{text}` is not a date; write it like `2026-12-31` or `2026-12-31T18:00`");
    let (date, time) = match text.split_once('T') {
        Some((d, t)) => (d, Some(t)),
        None => (text, None),
    };
    let date: Date = date.parse().map_err(|_| invalid())?;
    let civil = match time {
        None => date
            .checked_add(1.day())
            .map_err(|_| invalid())?
            .to_datetime(Time::midnight()),
        Some(t) => {
            let m = minutes(t, false).map_err(|_| invalid())?;
            date.to_datetime(Time::constant((m / 60) as i8, (m % 60) as i8, 0, 0))
        }
    };
    zone.to_ambiguous_timestamp(civil).compatible().map_err(|_| invalid())
}

/// Parses the timestamp given to `newgatectl explain --at`: RFC 3339, or a
/// civil `2026-12-01T10:00[:SS]` in the policy's time zone.
pub fn parse_timestamp(text: &str, zone: &TimeZone) -> Result<Timestamp, String> {
    if let Ok(ts) = text.parse::<Timestamp>() {
        return Ok(ts);
    }
    let civil: DateTime = text
        .parse()
        .map_err(|_| format!("`{text}` is not a time; write it like `2026-12-01T10:00` or `2026-12-01T10:00:00Z`"))?;
    zone.to_ambiguous_timestamp(civil)
        .compatible()
        .map_err(|e| format!("`{text}` does not exist in the policy's time zone: {e}"))
}

pub fn day_names(days: Days) -> String {
    (0..7)
        .filter(|d| days.0 & (1 << d) != 0)
        .map(|d| DAY_NAMES[d])
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime {
        s.parse().unwrap()
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("1d"), Ok(Duration::from_secs(86400)));
        assert!(parse_duration("5").is_err());
        assert!(parse_duration("m").is_err());
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("5x").is_err());
        assert!(parse_duration("99999999999999999999h").is_err());
        assert_eq!(format_duration(Duration::from_secs(5400)), "1h30m");
    }

    #[test]
    fn day_ranges_wrap_over_the_weekend() {
        let weekend = Days::parse("Fri-Mon").unwrap();
        assert!(weekend.contains(Weekday::Sunday));
        assert!(weekend.contains(Weekday::Monday));
        assert!(!weekend.contains(Weekday::Wednesday));
        assert!(Days::parse("mon").unwrap().contains(Weekday::Monday));
        assert!(Days::parse("Mo").is_err());
    }

    #[test]
    fn office_hours_end_before_the_end_minute() {
        let when = When {
            days: Days::parse("Mon-Fri").unwrap(),
            ranges: vec![TimeRange::parse("09:00-17:00").unwrap()],
        };
        // 2026-11-30 is a Monday.
        assert!(when.matches(at("2026-11-30T09:00")));
        assert!(when.matches(at("2026-11-30T16:59")));
        assert!(!when.matches(at("2026-11-30T17:00")));
        assert!(!when.matches(at("2026-11-29T10:00")));
    }

    #[test]
    fn night_shift_belongs_to_the_day_it_starts() {
        let when = When {
            days: Days::parse("Fri").unwrap(),
            ranges: vec![TimeRange::parse("22:00-06:00").unwrap()],
        };
        assert!(when.matches(at("2026-12-04T23:00"))); // Friday
        assert!(when.matches(at("2026-12-05T05:59"))); // Saturday morning
        assert!(!when.matches(at("2026-12-05T23:00"))); // Saturday night
        assert!(!when.matches(at("2026-12-04T05:00"))); // Friday morning: Thursday's shift
    }

    #[test]
    fn time_ranges() {
        assert!(TimeRange::parse("09:00-09:00").is_err());
        assert!(TimeRange::parse("25:00-26:00").is_err());
        assert!(TimeRange::parse("9-17").is_err());
        let whole_evening = TimeRange::parse("18:00-24:00").unwrap();
        let when = When {
            days: Days::ALL,
            ranges: vec![whole_evening],
        };
        assert!(when.matches(at("2026-12-04T23:59")));
        assert!(!when.matches(at("2026-12-05T00:00")));
    }

    #[test]
    fn until_a_bare_date_lasts_the_whole_day() {
        let utc = TimeZone::UTC;
        let end = parse_until("2026-12-31", &utc).unwrap();
        assert_eq!(end, "2027-01-01T00:00:00Z".parse().unwrap());
        let evening = parse_until("2026-12-31T18:00", &utc).unwrap();
        assert_eq!(evening, "2026-12-31T18:00:00Z".parse().unwrap());
        assert!(parse_until("2026-13-01", &utc).is_err());
        assert!(parse_until("tomorrow", &utc).is_err());
    }
}
