//! The HTML pages a user sees at the end of the OAuth flow.

use crate::http::HttpResponse;
use crate::text::escape_html;

/// Builds a complete page; `title` is plain text and `paragraphs` are plain
/// text too, so every value is escaped here.
pub fn page(status: u16, title: &str, paragraphs: &[&str]) -> HttpResponse {
    HttpResponse::html(status, render(title, paragraphs, ""))
}

/// Milliseconds a result page stays open in a popup before it closes itself.
const POPUP_CLOSE_DELAY_MS: u32 = 2000;

/// Builds a page like [`page`] that closes itself when the web app opened it
/// as a popup (`window.opener` is set); a normal tab stays open.
pub fn page_closing_popup(status: u16, title: &str, paragraphs: &[&str]) -> HttpResponse {
    let nonce = crate::crypto::random_token();
    let script = format!(
        "<script nonce=\"{nonce}\">if (window.opener) {{ setTimeout(function () {{ window.close(); }}, {POPUP_CLOSE_DELAY_MS}); }}</script>\n"
    );
    HttpResponse::html_with_script_nonce(status, render(title, paragraphs, &script), &nonce)
}

fn render(title: &str, paragraphs: &[&str], script: &str) -> String {
    let title = escape_html(title);
    let mut body = String::new();
    for paragraph in paragraphs {
        body.push_str("<p>");
        body.push_str(&escape_html(paragraph));
        body.push_str("</p>\n");
    }
    format!(
        r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} – PagerDuty for Mattermost</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 36rem; margin: 4rem auto; padding: 0 1rem; color: #1f2328; }}
h1 {{ font-size: 1.4rem; }}
p {{ line-height: 1.5; }}
</style>
</head>
<body>
<main>
<h1 id="title">{title}</h1>
<div id="message">
{body}</div>
</main>
{script}</body>
</html>
"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_escapes_every_value() {
        let response = page(400, "<b>t</b>", &["<script>alert(1)</script>"]);
        assert!(!response.body.contains("<script>"));
        assert!(response
            .body
            .contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(response.body.contains("&lt;b&gt;t&lt;/b&gt;"));
        assert_eq!(response.status, 400);
        assert!(!response.body.contains("<script"));
    }

    #[test]
    fn popup_page_allows_only_its_script() {
        let response = page_closing_popup(200, "Linked", &["done"]);
        let policy = response.header("Content-Security-Policy").unwrap();
        let nonce = policy
            .split("'nonce-")
            .nth(1)
            .and_then(|rest| rest.split('\'').next())
            .unwrap();
        assert_eq!(nonce.len(), 43);
        assert!(response
            .body
            .contains(&format!("<script nonce=\"{nonce}\">")));
        assert!(response.body.contains("window.close()"));
    }
}
