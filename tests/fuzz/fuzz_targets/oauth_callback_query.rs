//! Arbitrary query strings on the OAuth callback, `GET /oauth/complete`.
//! A pending authorization exists for the user under a known state, so
//! inputs that carry it reach the token request, which goes to a closed
//! loopback port and fails at once.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pd_ffi_host::{configured_core, http_request, seed_state, JsonHost, TEST_SITE_URL};

const USER_ID: &str = "useridaaaaaaaaaaaaaaaaaaaa";

fuzz_target!(|data: &[u8]| {
    let query = String::from_utf8_lossy(data);
    let host = JsonHost::new(TEST_SITE_URL);
    seed_state(&host, USER_ID);
    let (_, reply) = configured_core().call_json(
        &host,
        &http_request("GET", "/oauth/complete", &query, USER_ID, ""),
    );
    let status = reply["status"]
        .as_u64()
        .expect("the callback always replies with a page");
    assert!((200..600).contains(&status), "status {status}");
});
