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
}
