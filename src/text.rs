//! Escaping of untrusted text for the two output formats the plugin writes:
//! HTML pages and Mattermost Markdown messages.

/// Escapes `value` for use in HTML text and in quoted attribute values.
pub fn escape_html(value: &str) -> String {
    let mut escaped = String::with_capacity(value.len());
    for character in value.chars() {
        match character {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            _ => escaped.push(character),
        }
    }
    escaped
}

/// Escapes `value` so Mattermost renders it as plain text inside a Markdown
/// message: a PagerDuty user name such as `[x](https://evil)` must not become
/// a link, `@channel` must not notify anyone, and neither `https:` nor
/// `www.` may autolink.
/// Line breaks become spaces so the value cannot start a new block.
pub fn escape_markdown(value: &str) -> String {
    let mut escaped = String::with_capacity(value.len());
    for character in value.chars() {
        match character {
            '\\' | '`' | '*' | '_' | '[' | ']' | '(' | ')' | '#' | '|' | '<' | '>' | '~' | '@'
            | ':' | '.' => {
                escaped.push('\\');
                escaped.push(character);
            }
            '\r' | '\n' => escaped.push(' '),
            _ => escaped.push(character),
        }
    }
    escaped
}

/// Formats Unix seconds as a UTC date and time such as `2026-12-04 15:22 UTC`.
pub fn format_utc(unix_seconds: i64) -> String {
    let days = unix_seconds.div_euclid(86_400);
    let seconds_of_day = unix_seconds.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02} UTC",
        seconds_of_day / 3600,
        seconds_of_day % 3600 / 60
    )
}

/// Converts days since 1970-01-01 to a proleptic Gregorian (year, month, day),
/// counting in 400-year eras of 146,097 days that start on March 1.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let shifted = days + 719_468;
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_html_replaces_markup() {
        assert_eq!(
            escape_html(r#"<script>alert("x") & 'y'</script>"#),
            "&lt;script&gt;alert(&quot;x&quot;) &amp; &#39;y&#39;&lt;/script&gt;"
        );
    }

    #[test]
    fn escape_markdown_neutralizes_links() {
        let escaped = escape_markdown("[Ada](https://evil.example)\n# big");
        assert_eq!(escaped, r"\[Ada\]\(https\://evil\.example\) \# big");
    }

    #[test]
    fn escape_markdown_keeps_plain_names() {
        assert_eq!(escape_markdown("Ada Lovelace"), "Ada Lovelace");
        assert_eq!(escape_markdown("ada@example.com"), r"ada\@example\.com");
    }

    #[test]
    fn escape_markdown_stops_www_autolinks() {
        assert_eq!(escape_markdown("www.evil.example"), r"www\.evil\.example");
    }

    #[test]
    fn escape_markdown_stops_mentions() {
        assert_eq!(escape_markdown("@channel"), r"\@channel");
    }

    #[test]
    fn format_utc_known_dates() {
        assert_eq!(format_utc(0), "1970-01-01 00:00 UTC");
        assert_eq!(format_utc(951_782_400), "2000-02-29 00:00 UTC");
        assert_eq!(format_utc(1_796_397_720), "2026-12-04 15:22 UTC");
        assert_eq!(format_utc(-86_400), "1969-12-31 00:00 UTC");
    }
}
