//! The browser leg of the OAuth flow against the PagerDuty simulator, with a
//! minimal HTTP/1.1 client over loopback TCP (one connection per request).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};

use std::io::BufRead;

/// The simulator, started from its binary and killed on drop.
pub struct Simulator {
    child: Child,
    pub base_url: String,
}

impl Simulator {
    /// Starts pdsim on 127.0.0.1 with the app that [`crate::configured_settings`] names.
    pub fn start(binary: &str, redirect_uri: &str) -> Simulator {
        let mut child = Command::new(binary)
            .args([
                "-addr",
                "127.0.0.1:0",
                "-client-id",
                "bench-client",
                "-client-secret",
                "bench-secret",
            ])
            .args(["-redirect-uri", redirect_uri])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|error| panic!("failed to start {binary}: {error}"));
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .expect("pdsim printed nothing");
        let base_url = line
            .trim()
            .strip_prefix("pdsim listening on ")
            .unwrap_or_else(|| panic!("unexpected pdsim output {line:?}"))
            .to_string();
        Simulator { child, base_url }
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A reply: status, headers (names in lowercase) and body.
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(header, _)| header == name)
            .map(|(_, value)| value.as_str())
    }
}

/// Sends one request to a loopback `http://` URL and reads the whole reply.
pub fn request(method: &str, url: &str, cookie: Option<&str>, form: Option<&str>) -> Reply {
    let rest = url.strip_prefix("http://").expect("only http:// URLs");
    let (authority, target) = match rest.find('/') {
        Some(index) => (&rest[..index], &rest[index..]),
        None => (rest, "/"),
    };
    assert!(
        authority.starts_with("127."),
        "refusing a non-loopback URL {url}"
    );
    let mut stream = TcpStream::connect(authority).expect("connect to the simulator");
    let mut head =
        format!("{method} {target} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n");
    if let Some(cookie) = cookie {
        head.push_str(&format!("Cookie: {cookie}\r\n"));
    }
    let body = form.unwrap_or_default();
    if form.is_some() {
        head.push_str("Content-Type: application/x-www-form-urlencoded\r\n");
    }
    head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body.as_bytes()).unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").expect("a complete HTTP reply");
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|line| line.split(' ').nth(1))
        .and_then(|code| code.parse().ok())
        .expect("an HTTP status line");
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_string()))
        .collect();
    // pdsim's pages are small; a chunked body still contains the fields read below.
    Reply {
        status,
        headers,
        body: body.to_string(),
    }
}

/// Returns the value of the hidden form input `name` in an HTML page.
pub fn hidden_input(page: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = page
        .find(&marker)
        .unwrap_or_else(|| panic!("no input {name} in page"))
        + marker.len();
    let end = start + page[start..].find('"').unwrap();
    page[start..end]
        .replace("&amp;", "&")
        .replace("&#43;", "+")
        .replace("&#34;", "\"")
}

/// Percent-encodes a form value.
pub fn form_encode(value: &str) -> String {
    value
        .bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (byte as char).to_string()
            }
            _ => format!("%{byte:02X}"),
        })
        .collect()
}

/// Plays the user at the simulator: opens `authorize_url`, signs in as Ada
/// when asked, authorizes, and returns the query of the redirect back to
/// the plugin (`code=…&state=…`).
pub fn consent(base_url: &str, authorize_url: &str, cookie: &mut Option<String>) -> String {
    let mut page = request("GET", authorize_url, cookie.as_deref(), None);
    if page.body.contains("id=\"sign-in\"") {
        let form = format!(
            "email=ada%40example.com&return_to={}",
            form_encode(&hidden_input(&page.body, "return_to"))
        );
        let signed_in = request("POST", &format!("{base_url}/sign_in"), None, Some(&form));
        assert_eq!(signed_in.status, 303, "sign-in failed: {}", signed_in.body);
        let session = signed_in.header("set-cookie").expect("a session cookie");
        *cookie = Some(session.split(';').next().unwrap().to_string());
        let location = signed_in.header("location").unwrap().to_string();
        page = request(
            "GET",
            &format!("{base_url}{location}"),
            cookie.as_deref(),
            None,
        );
    }
    assert!(
        page.body.contains("id=\"authorize\""),
        "no consent page: {}",
        page.body
    );
    let form = format!(
        "decision=authorize&request_id={}",
        form_encode(&hidden_input(&page.body, "request_id"))
    );
    let decided = request(
        "POST",
        &format!("{base_url}/oauth/authorize/decision"),
        cookie.as_deref(),
        Some(&form),
    );
    let location = decided.header("location").unwrap_or_else(|| {
        panic!(
            "no redirect after consent ({}): {}",
            decided.status, decided.body
        )
    });
    location
        .split_once('?')
        .expect("a redirect with a query")
        .1
        .to_string()
}
