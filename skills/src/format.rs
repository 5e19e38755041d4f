//! Formatting shared by every skill, so cards read the same everywhere: sizes,
//! durations, percentages, counts, clock times and windows.

use crate::skill::Window;
use chrono::{DateTime, Duration, Utc};

const KIB: f64 = 1024.0;
const MIB: f64 = KIB * 1024.0;
const GIB: f64 = MIB * 1024.0;

/// A byte count the way Cloud Foundry shows it: binary multiples, short labels
/// ("301 MB", "1 GB", "1.5 GB").
pub fn bytes(n: u64) -> String {
    let v = n as f64;
    if v >= GIB {
        format!("{} GB", trim_zero(v / GIB))
    } else if v >= MIB {
        format!("{:.0} MB", v / MIB)
    } else if v >= KIB {
        format!("{:.0} KB", v / KIB)
    } else {
        format!("{n} B")
    }
}

/// "301 MB of 1 GB"; just the amount when there is no quota (0).
pub fn bytes_of(used: u64, quota: u64) -> String {
    if quota == 0 { bytes(used) } else { format!("{} of {}", bytes(used), bytes(quota)) }
}

/// One decimal, without a trailing ".0".
fn trim_zero(v: f64) -> String {
    let s = format!("{v:.1}");
    s.strip_suffix(".0").map(str::to_string).unwrap_or(s)
}

/// A duration in its two largest units ("2h 5m", "3d 4h", "45s"); negative is "0s".
pub fn duration(d: Duration) -> String {
    let secs = d.num_seconds().max(0);
    let (days, hours, mins, s) = (secs / 86_400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    let pair = |a: i64, ua: &str, b: i64, ub: &str| {
        if b == 0 { format!("{a}{ua}") } else { format!("{a}{ua} {b}{ub}") }
    };
    if days > 0 {
        pair(days, "d", hours, "h")
    } else if hours > 0 {
        pair(hours, "h", mins, "m")
    } else if mins > 0 {
        pair(mins, "m", s, "s")
    } else {
        format!("{s}s")
    }
}

/// A percentage with one decimal ("12.3%").
pub fn percent(p: f64) -> String {
    format!("{p:.1}%")
}

/// An integer with thousands separators ("1,000,000").
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Wall-clock time of day in UTC ("10:42:07").
pub fn clock(t: DateTime<Utc>) -> String {
    t.format("%H:%M:%S").to_string()
}

/// A window as times ("10:12–10:42 UTC"), with dates when it spans days.
pub fn window(w: Window) -> String {
    if w.from.date_naive() == w.to.date_naive() {
        format!("{}–{} UTC", w.from.format("%H:%M"), w.to.format("%H:%M"))
    } else {
        format!("{} – {} UTC", w.from.format("%Y-%m-%d %H:%M"), w.to.format("%Y-%m-%d %H:%M"))
    }
}

/// "last 30m" when the window ends now (within a minute), else the times.
pub fn range(w: Window, now: DateTime<Utc>) -> String {
    if (now - w.to).num_seconds().abs() <= 60 { format!("last {}", duration(w.to - w.from)) } else { window(w) }
}

/// [`range`] with the times spelled out when it is relative
/// ("last 15m (10:27–10:42 UTC)").
pub fn range_long(w: Window, now: DateTime<Utc>) -> String {
    let short = range(w, now);
    if short.starts_with("last ") { format!("{short} ({})", window(w)) } else { short }
}

/// Cuts `s` to at most `max` characters (never inside a character), marking the cut
/// with "…"; tells whether it cut.
pub fn cut(s: &str, max: usize) -> (String, bool) {
    match s.char_indices().nth(max) {
        None => (s.to_string(), false),
        Some(_) => {
            let kept: String = s.chars().take(max.saturating_sub(1)).collect();
            (format!("{kept}…"), true)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn bytes_read_like_cloud_foundry() {
        assert_eq!(bytes(301 * 1024 * 1024), "301 MB");
        assert_eq!(bytes(1 << 30), "1 GB");
        assert_eq!(bytes(3 << 29), "1.5 GB");
        assert_eq!(bytes(2048), "2 KB");
        assert_eq!(bytes(12), "12 B");
        assert_eq!(bytes_of(120 * 1024 * 1024, 1 << 30), "120 MB of 1 GB");
        assert_eq!(bytes_of(120 * 1024 * 1024, 0), "120 MB");
    }

    #[test]
    fn durations_keep_two_units() {
        assert_eq!(duration(Duration::seconds(2 * 3600 + 5 * 60 + 9)), "2h 5m");
        assert_eq!(duration(Duration::seconds(3600)), "1h");
        assert_eq!(duration(Duration::seconds(30 * 60)), "30m");
        assert_eq!(duration(Duration::seconds(45)), "45s");
        assert_eq!(duration(Duration::seconds(3 * 86_400 + 4 * 3600 + 7)), "3d 4h");
        assert_eq!(duration(Duration::seconds(-5)), "0s");
    }

    #[test]
    fn numbers() {
        assert_eq!(percent(12.345), "12.3%");
        assert_eq!(thousands(12_345), "12,345");
        assert_eq!(thousands(1_000_000), "1,000,000");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(0), "0");
    }

    #[test]
    fn windows_and_ranges() {
        let to = Utc.with_ymd_and_hms(2025, 3, 14, 10, 42, 0).single().unwrap_or_default();
        let w = Window { from: to - Duration::minutes(30), to };
        assert_eq!(window(w), "10:12–10:42 UTC");
        assert_eq!(range(w, to), "last 30m");
        assert_eq!(range(w, to + Duration::hours(2)), "10:12–10:42 UTC");
        assert_eq!(range_long(w, to), "last 30m (10:12–10:42 UTC)");
        assert_eq!(range_long(w, to + Duration::hours(2)), "10:12–10:42 UTC");
        let long = Window { from: to - Duration::days(1), to };
        assert_eq!(window(long), "2025-03-13 10:42 – 2025-03-14 10:42 UTC");
    }

    #[test]
    fn cut_respects_characters() {
        assert_eq!(cut("short", 10), ("short".to_string(), false));
        let (s, was_cut) = cut("重启重启重启", 4);
        assert!(was_cut);
        assert_eq!(s, "重启重…");
        assert_eq!(s.chars().count(), 4);
    }
}
