//! Arbitrary query strings on the OAuth callback, `GET /oauth/complete`.
//! A pending authorization exists for the user under a known state, so
//! inputs that carry it reach the token request, which goes to a closed
//! loopback port and fails at once.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use pd_ffi_host::{
    activate_request, configured_settings, http_request, seed_state, FfiCore, JsonHost,
    CLOSED_LOOPBACK_URL,
};

const USER_ID: &str = "useridaaaaaaaaaaaaaaaaaaaa";

fn core() -> &'static FfiCore {
    static CORE: OnceLock<FfiCore> = OnceLock::new();
    CORE.get_or_init(|| {
        let core = FfiCore::new();
        let host = JsonHost::new("http://127.0.0.1:8065");
        core.call_json(
            &host,
            &activate_request(&configured_settings(CLOSED_LOOPBACK_URL)),
        );
        core
    })
}

fuzz_target!(|data: &[u8]| {
    let query = String::from_utf8_lossy(data);
    let host = JsonHost::new("http://127.0.0.1:8065");
    seed_state(&host, USER_ID);
    let (_, reply) = core().call_json(
        &host,
        &http_request("GET", "/oauth/complete", &query, USER_ID, ""),
    );
    let status = reply["status"]
        .as_u64()
        .expect("the callback always replies with a page");
    assert!((200..600).contains(&status), "status {status}");
});
