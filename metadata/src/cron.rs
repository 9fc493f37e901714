//! Cron schedules and UTC timestamps, pure: no clock, no I/O.
//!
//! * [`Schedule::parse`] — standard 5-field cron (`minute hour day-of-month month day-of-week`):
//!   numbers, `*`, lists (`1,5`), ranges (`1-5`), steps (`*/15`, `0-8/2`, `5/10` = `5-max/10`),
//!   month names (`jan`–`dec`) and day names (`sun`–`sat`, `7` = Sunday too), and the macros
//!   `@yearly`/`@annually`, `@monthly`, `@weekly`, `@daily`/`@midnight`, `@hourly`.
//! * Day rule (Vixie cron): when both day-of-month and day-of-week are restricted (neither field
//!   starts with `*`), a day matches if EITHER matches; otherwise both must match.
//! * [`Schedule::next_fire`] / [`Schedule::fire_times`] work on unix seconds, UTC only.
//! * [`parse_timestamp`] / [`format_timestamp`]: ISO 8601 / RFC 3339 text ⇄ unix microseconds,
//!   the way Hasura reads `schedule_at` and writes `scheduled_time`.
//!
//! The metadata API validates schedules with this module; the scheduler process computes the
//! cron events it generates with it.
use std::fmt;

/// An invalid schedule or timestamp, with a message that says which part is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CronError(pub String);

impl fmt::Display for CronError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CronError {}

/// A parsed cron schedule: the set of allowed values of each field as a bit set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    minutes: u64,
    hours: u32,
    /// Bits 1..=31.
    days: u32,
    /// Bits 1..=12.
    months: u16,
    /// Bits 0..=6, Sunday = 0.
    weekdays: u8,
    day_star: bool,
    weekday_star: bool,
}

/// One field's definition: name for messages, range, and the names it accepts.
struct Field {
    name: &'static str,
    min: u32,
    max: u32,
    names: &'static [&'static str],
}

const MINUTE: Field = Field {
    name: "minute",
    min: 0,
    max: 59,
    names: &[],
};
const HOUR: Field = Field {
    name: "hour",
    min: 0,
    max: 23,
    names: &[],
};
const DAY: Field = Field {
    name: "day of month",
    min: 1,
    max: 31,
    names: &[],
};
const MONTH: Field = Field {
    name: "month",
    min: 1,
    max: 12,
    names: &[
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ],
};
/// Day of week accepts 0–7 (both 0 and 7 are Sunday).
const WEEKDAY: Field = Field {
    name: "day of week",
    min: 0,
    max: 7,
    names: &["sun", "mon", "tue", "wed", "thu", "fri", "sat"],
};

impl Field {
    fn value(&self, s: &str) -> Result<u32, String> {
        let lower = s.to_ascii_lowercase();
        if let Some(i) = self.names.iter().position(|n| *n == lower) {
            return Ok(i as u32 + if self.min == 1 { 1 } else { 0 });
        }
        let v: u32 = s.parse().map_err(|_| {
            if self.names.is_empty() {
                format!("{:?} is not a number", s)
            } else {
                format!("{:?} is neither a number nor a name", s)
            }
        })?;
        if v < self.min || v > self.max {
            return Err(format!("value {v} out of range {}-{}", self.min, self.max));
        }
        Ok(v)
    }

    /// Parses one field into a bit set; the bool says whether it starts with `*`.
    fn parse(&self, text: &str) -> Result<(u64, bool), String> {
        let mut bits = 0u64;
        for part in text.split(',') {
            if part.is_empty() {
                return Err("empty list element".into());
            }
            let (range, step) = match part.split_once('/') {
                Some((r, s)) => {
                    let step: u32 = s
                        .parse()
                        .map_err(|_| format!("step {s:?} is not a number"))?;
                    if step == 0 {
                        return Err("step must be at least 1".into());
                    }
                    (r, Some(step))
                }
                None => (part, None),
            };
            let (lo, hi) = if range == "*" {
                (self.min, self.max)
            } else if let Some((a, b)) = range.split_once('-') {
                let (a, b) = (self.value(a)?, self.value(b)?);
                if a > b {
                    return Err(format!("range {range:?} is backwards"));
                }
                (a, b)
            } else {
                let a = self.value(range)?;
                // `5/10` means `5-max/10`.
                (a, if step.is_some() { self.max } else { a })
            };
            let step = step.unwrap_or(1);
            let mut v = lo;
            while v <= hi {
                bits |= 1 << v;
                v += step;
            }
        }
        Ok((bits, text.starts_with('*')))
    }
}

impl Schedule {
    /// Parses a 5-field cron expression or a macro (`@daily`, ...).
    pub fn parse(text: &str) -> Result<Schedule, CronError> {
        let err = |m: String| CronError(format!("invalid cron schedule {text:?}: {m}"));
        let trimmed = text.trim();
        let expanded = match trimmed.to_ascii_lowercase().as_str() {
            "@yearly" | "@annually" => "0 0 1 1 *",
            "@monthly" => "0 0 1 * *",
            "@weekly" => "0 0 * * 0",
            "@daily" | "@midnight" => "0 0 * * *",
            "@hourly" => "0 * * * *",
            m if m.starts_with('@') => return Err(err(format!("unknown macro {m:?}"))),
            _ => trimmed,
        };
        let fields: Vec<&str> = expanded.split_whitespace().collect();
        if fields.len() != 5 {
            return Err(err(format!(
                "expected 5 fields (minute hour day-of-month month day-of-week), found {}",
                fields.len()
            )));
        }
        let mut out = [(0u64, false); 5];
        for (i, f) in [MINUTE, HOUR, DAY, MONTH, WEEKDAY].iter().enumerate() {
            out[i] = f
                .parse(fields[i])
                .map_err(|m| err(format!("{} field {:?}: {m}", f.name, fields[i])))?;
        }
        let mut weekdays = out[4].0;
        if weekdays & (1 << 7) != 0 {
            weekdays = (weekdays | 1) & 0x7f;
        }
        let s = Schedule {
            minutes: out[0].0,
            hours: out[1].0 as u32,
            days: out[2].0 as u32,
            months: out[3].0 as u16,
            weekdays: weekdays as u8,
            day_star: out[2].1,
            weekday_star: out[4].1,
        };
        if s.next_fire(0).is_none() {
            return Err(err("the schedule never fires (no such date)".into()));
        }
        Ok(s)
    }

    fn day_matches(&self, d: &Civil) -> bool {
        let dom = self.days & (1 << d.day) != 0;
        let dow = self.weekdays & (1 << d.weekday) != 0;
        if self.day_star || self.weekday_star {
            dom && dow
        } else {
            dom || dow
        }
    }

    /// The first fire time strictly after `after` (unix seconds), or `None` when the schedule
    /// cannot fire within 30 years (an impossible date such as February 30).
    pub fn next_fire(&self, after: i64) -> Option<i64> {
        // Start at the next whole minute.
        let mut t = after.div_euclid(60) * 60 + 60;
        let limit = Civil::from_unix(t).year + 30;
        loop {
            let c = Civil::from_unix(t);
            if c.year > limit {
                return None;
            }
            if self.months & (1 << c.month) == 0 {
                let (y, m) = if c.month == 12 {
                    (c.year + 1, 1)
                } else {
                    (c.year, c.month + 1)
                };
                t = days_from_civil(y, m, 1) * 86_400;
                continue;
            }
            if !self.day_matches(&c) {
                t = (t.div_euclid(86_400) + 1) * 86_400;
                continue;
            }
            if self.hours & (1 << c.hour) == 0 {
                t = (t.div_euclid(3_600) + 1) * 3_600;
                continue;
            }
            if self.minutes & (1 << c.minute) == 0 {
                t += 60;
                continue;
            }
            return Some(t);
        }
    }

    /// Fire times `t` with `from < t <= to`, at most `limit` of them, in order.
    pub fn fire_times(&self, from: i64, to: i64, limit: usize) -> Vec<i64> {
        let mut out = Vec::new();
        let mut t = from;
        while out.len() < limit {
            match self.next_fire(t) {
                Some(n) if n <= to => {
                    out.push(n);
                    t = n;
                }
                _ => break,
            }
        }
        out
    }
}

impl std::str::FromStr for Schedule {
    type Err = CronError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Schedule::parse(s)
    }
}

// ---------------------------------------------------------------------------------------------
// UTC calendar

/// A UTC date and time of day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Civil {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
    /// Sunday = 0.
    pub weekday: u32,
}

impl Civil {
    pub fn from_unix(secs: i64) -> Civil {
        let days = secs.div_euclid(86_400);
        let rem = secs.rem_euclid(86_400) as u32;
        let (year, month, day) = civil_from_days(days);
        Civil {
            year,
            month,
            day,
            hour: rem / 3600,
            minute: rem / 60 % 60,
            second: rem % 60,
            weekday: (days + 4).rem_euclid(7) as u32,
        }
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + if m <= 2 { 1 } else { 0 }, m, d)
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Parses an ISO 8601 timestamp (`2024-05-01T12:00:00Z`, `2024-05-01 12:00:00.25+02:00`,
/// `2024-05-01T12:00`; no zone = UTC) into unix microseconds.
pub fn parse_timestamp(text: &str) -> Result<i64, CronError> {
    let err = || {
        CronError(format!(
            "invalid timestamp {text:?}: expected ISO 8601 such as \"2024-05-01T12:00:00Z\""
        ))
    };
    let s = text.trim().as_bytes();
    let num = |a: usize, b: usize| -> Result<i64, CronError> {
        let part = s.get(a..b).ok_or_else(err)?;
        if part.is_empty() || !part.iter().all(u8::is_ascii_digit) {
            return Err(err());
        }
        std::str::from_utf8(part)
            .ok()
            .and_then(|p| p.parse().ok())
            .ok_or_else(err)
    };
    if s.len() < 16 || s[4] != b'-' || s[7] != b'-' || !matches!(s[10], b'T' | b't' | b' ') {
        return Err(err());
    }
    let (year, month, day) = (num(0, 4)?, num(5, 7)? as u32, num(8, 10)? as u32);
    let (hour, minute) = (num(11, 13)?, num(14, 16)?);
    if s[13] != b':' {
        return Err(err());
    }
    let mut i = 16;
    let mut second = 0;
    let mut micros = 0i64;
    if s.get(i) == Some(&b':') {
        second = num(i + 1, i + 3)?;
        i += 3;
        if s.get(i) == Some(&b'.') {
            let start = i + 1;
            let mut end = start;
            while s.get(end).is_some_and(u8::is_ascii_digit) {
                end += 1;
            }
            if end == start {
                return Err(err());
            }
            for k in 0..6 {
                micros = micros * 10
                    + s.get(start + k)
                        .filter(|_| start + k < end)
                        .map_or(0, |c| (c - b'0') as i64);
            }
            i = end;
        }
    }
    let offset = match s.get(i) {
        None => 0,
        Some(b'Z' | b'z') if i + 1 == s.len() => 0,
        Some(&sign @ (b'+' | b'-')) => {
            let h = num(i + 1, i + 3)?;
            let m = match s.len() - (i + 3) {
                0 => 0,
                3 if s[i + 3] == b':' => num(i + 4, i + 6)?,
                2 => num(i + 3, i + 5)?,
                _ => return Err(err()),
            };
            let o = h * 3600 + m * 60;
            if sign == b'+' {
                o
            } else {
                -o
            }
        }
        _ => return Err(err()),
    };
    if !(1..=12).contains(&month)
        || day == 0
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return Err(CronError(format!(
            "invalid timestamp {text:?}: no such date or time"
        )));
    }
    let secs =
        days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second - offset;
    Ok(secs * 1_000_000 + micros)
}

/// RFC 3339 in UTC, the way Hasura writes times: `2024-05-01T12:00:00Z`, with fractional
/// seconds only when there are some (`2024-05-01T12:00:00.25Z`).
pub fn format_timestamp(micros: i64) -> String {
    let secs = micros.div_euclid(1_000_000);
    let frac = micros.rem_euclid(1_000_000);
    let c = Civil::from_unix(secs);
    let mut out = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        c.year, c.month, c.day, c.hour, c.minute, c.second
    );
    if frac != 0 {
        let f = format!(".{frac:06}");
        out.push_str(f.trim_end_matches('0'));
    }
    out.push('Z');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> i64 {
        parse_timestamp(s).unwrap() / 1_000_000
    }

    /// The one place calling the schedule API: the first `expect.len()` fire times after
    /// `after`, or the error message (`expect` = `["error: <substring>"]`).
    fn check(schedule: &str, after: &str, expect: &[&str]) {
        match Schedule::parse(schedule) {
            Ok(s) => {
                let got: Vec<String> = s
                    .fire_times(ts(after), i64::MAX, expect.len())
                    .into_iter()
                    .map(|t| format_timestamp(t * 1_000_000))
                    .collect();
                assert_eq!(got, expect, "schedule {schedule:?} after {after}");
            }
            Err(e) => {
                let want = expect
                    .first()
                    .and_then(|x| x.strip_prefix("error: "))
                    .unwrap_or_else(|| panic!("{schedule:?}: unexpected error {e}"));
                assert!(e.0.contains(want), "{schedule:?}: {e} lacks {want:?}");
            }
        }
    }

    #[test]
    fn schedules() {
        let cases: &[(&str, &str, &[&str])] = &[
            (
                "* * * * *",
                "2024-01-01T00:00:00Z",
                &["2024-01-01T00:01:00Z", "2024-01-01T00:02:00Z"],
            ),
            (
                "* * * * *",
                "2024-01-01T00:00:30Z",
                &["2024-01-01T00:01:00Z"],
            ),
            (
                "*/15 * * * *",
                "2024-01-01T00:07:00Z",
                &[
                    "2024-01-01T00:15:00Z",
                    "2024-01-01T00:30:00Z",
                    "2024-01-01T00:45:00Z",
                    "2024-01-01T01:00:00Z",
                ],
            ),
            (
                "0 19-23/2,0-8/2 * * *",
                "2024-03-10T18:00:00Z",
                &[
                    "2024-03-10T19:00:00Z",
                    "2024-03-10T21:00:00Z",
                    "2024-03-10T23:00:00Z",
                    "2024-03-11T00:00:00Z",
                    "2024-03-11T02:00:00Z",
                    "2024-03-11T04:00:00Z",
                    "2024-03-11T06:00:00Z",
                    "2024-03-11T08:00:00Z",
                    "2024-03-11T19:00:00Z",
                ],
            ),
            (
                "5/20 * * * *",
                "2024-01-01T00:00:00Z",
                &[
                    "2024-01-01T00:05:00Z",
                    "2024-01-01T00:25:00Z",
                    "2024-01-01T00:45:00Z",
                    "2024-01-01T01:05:00Z",
                ],
            ),
            (
                "30 2 1,15 * *",
                "2024-01-10T00:00:00Z",
                &[
                    "2024-01-15T02:30:00Z",
                    "2024-02-01T02:30:00Z",
                    "2024-02-15T02:30:00Z",
                ],
            ),
            // 2024-01-01 is a Monday.
            (
                "0 22 * * 1-5",
                "2024-01-05T23:00:00Z",
                &["2024-01-08T22:00:00Z", "2024-01-09T22:00:00Z"],
            ),
            (
                "0 0 * * mon-fri",
                "2024-01-05T23:00:00Z",
                &["2024-01-08T00:00:00Z"],
            ),
            (
                "0 0 * * 7",
                "2024-01-01T00:00:00Z",
                &["2024-01-07T00:00:00Z", "2024-01-14T00:00:00Z"],
            ),
            (
                "0 0 * * sun,sat",
                "2024-01-01T00:00:00Z",
                &["2024-01-06T00:00:00Z", "2024-01-07T00:00:00Z"],
            ),
            (
                "0 0 1 jan,JUL *",
                "2024-02-01T00:00:00Z",
                &["2024-07-01T00:00:00Z", "2025-01-01T00:00:00Z"],
            ),
            // Vixie: both day fields restricted → either matches (the 13th OR a Friday).
            (
                "0 0 13 * 5",
                "2024-09-01T00:00:00Z",
                &[
                    "2024-09-06T00:00:00Z",
                    "2024-09-13T00:00:00Z",
                    "2024-09-20T00:00:00Z",
                    "2024-09-27T00:00:00Z",
                    "2024-10-04T00:00:00Z",
                    "2024-10-11T00:00:00Z",
                    "2024-10-13T00:00:00Z",
                ],
            ),
            // ... but a `*`-prefixed field counts as unrestricted → both must match.
            (
                "0 0 13 * */1",
                "2024-09-01T00:00:00Z",
                &["2024-09-13T00:00:00Z", "2024-10-13T00:00:00Z"],
            ),
            (
                "0 0 29 2 *",
                "2024-03-01T00:00:00Z",
                &["2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z"],
            ),
            (
                "0 0 31 * *",
                "2024-01-31T00:00:00Z",
                &["2024-03-31T00:00:00Z", "2024-05-31T00:00:00Z"],
            ),
            (
                "59 23 31 12 *",
                "2024-12-31T23:59:00Z",
                &["2025-12-31T23:59:00Z"],
            ),
            ("@hourly", "2024-01-01T00:59:59Z", &["2024-01-01T01:00:00Z"]),
            ("@daily", "2024-01-01T00:00:00Z", &["2024-01-02T00:00:00Z"]),
            ("@weekly", "2024-01-01T00:00:00Z", &["2024-01-07T00:00:00Z"]),
            (
                "@monthly",
                "2024-01-15T00:00:00Z",
                &["2024-02-01T00:00:00Z"],
            ),
            ("@yearly", "2024-01-15T00:00:00Z", &["2025-01-01T00:00:00Z"]),
            (
                "  0  12 * * *  ",
                "1969-12-31T13:00:00Z",
                &["1970-01-01T12:00:00Z"],
            ),
            // Errors.
            (
                "* * * *",
                "2024-01-01T00:00:00Z",
                &["error: expected 5 fields"],
            ),
            ("* * * * * *", "2024-01-01T00:00:00Z", &["error: found 6"]),
            (
                "60 * * * *",
                "2024-01-01T00:00:00Z",
                &["error: minute field \"60\": value 60 out of range 0-59"],
            ),
            ("* 24 * * *", "2024-01-01T00:00:00Z", &["error: hour field"]),
            (
                "* * 0 * *",
                "2024-01-01T00:00:00Z",
                &["error: day of month field \"0\": value 0 out of range 1-31"],
            ),
            (
                "* * * 13 *",
                "2024-01-01T00:00:00Z",
                &["error: month field"],
            ),
            (
                "* * * * 8",
                "2024-01-01T00:00:00Z",
                &["error: day of week field"],
            ),
            (
                "*/0 * * * *",
                "2024-01-01T00:00:00Z",
                &["error: step must be at least 1"],
            ),
            (
                "5-1 * * * *",
                "2024-01-01T00:00:00Z",
                &["error: range \"5-1\" is backwards"],
            ),
            (
                "1,,2 * * * *",
                "2024-01-01T00:00:00Z",
                &["error: empty list element"],
            ),
            (
                "x * * * *",
                "2024-01-01T00:00:00Z",
                &["error: \"x\" is not a number"],
            ),
            (
                "* * * foo *",
                "2024-01-01T00:00:00Z",
                &["error: neither a number nor a name"],
            ),
            (
                "0 0 30 2 *",
                "2024-01-01T00:00:00Z",
                &["error: never fires"],
            ),
            ("@often", "2024-01-01T00:00:00Z", &["error: unknown macro"]),
            ("", "2024-01-01T00:00:00Z", &["error: found 0"]),
        ];
        for (schedule, after, expect) in cases {
            check(schedule, after, expect);
        }
    }

    #[test]
    fn fire_times_window() {
        let s = Schedule::parse("*/10 * * * *").unwrap();
        let from = ts("2024-01-01T00:00:00Z");
        // `from` is exclusive, `to` inclusive, `limit` caps.
        assert_eq!(s.fire_times(from, from + 1800, 10).len(), 3);
        assert_eq!(s.fire_times(from, from + 1800, 2).len(), 2);
        assert_eq!(s.fire_times(from, from + 599, 10), Vec::<i64>::new());
    }

    #[test]
    fn timestamps() {
        let cases: &[(&str, Result<&str, &str>)] = &[
            ("2024-05-01T12:00:00Z", Ok("2024-05-01T12:00:00Z")),
            ("2024-05-01t12:00:00z", Ok("2024-05-01T12:00:00Z")),
            ("2024-05-01 12:00:00", Ok("2024-05-01T12:00:00Z")),
            ("2024-05-01T12:00", Ok("2024-05-01T12:00:00Z")),
            ("2024-05-01T12:00:00.250Z", Ok("2024-05-01T12:00:00.25Z")),
            (
                "2024-05-01T12:00:00.1234567Z",
                Ok("2024-05-01T12:00:00.123456Z"),
            ),
            ("2024-05-01T12:00:00+02:00", Ok("2024-05-01T10:00:00Z")),
            ("2024-05-01T00:30:00-0130", Ok("2024-05-01T02:00:00Z")),
            ("2024-02-29T00:00:00Z", Ok("2024-02-29T00:00:00Z")),
            ("1960-01-01T00:00:00Z", Ok("1960-01-01T00:00:00Z")),
            ("2023-02-29T00:00:00Z", Err("no such date")),
            ("2024-05-01T24:00:00Z", Err("no such date")),
            ("2024-05-01", Err("expected ISO 8601")),
            ("tomorrow", Err("expected ISO 8601")),
            ("2024-05-01T12:00:00Zjunk", Err("expected ISO 8601")),
            ("2024-05-01T12:00:00.Z", Err("expected ISO 8601")),
            ("2024-05-01T12:0a:00Z", Err("expected ISO 8601")),
            ("", Err("expected ISO 8601")),
        ];
        for (input, want) in cases {
            match (parse_timestamp(input), want) {
                (Ok(t), Ok(w)) => assert_eq!(format_timestamp(t), *w, "{input}"),
                (Err(e), Err(w)) => assert!(e.0.contains(w), "{input}: {e}"),
                (got, _) => panic!("{input}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn calendar_round_trip() {
        for days in (-800_000..800_000).step_by(997) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(Civil::from_unix(0).weekday, 4); // Thursday
    }
}
