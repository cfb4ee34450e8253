//! Arbitrary KV records: the input is stored as the user's link record or as
//! the pending authorization under a known state, and then every command
//! and route that reads such a record runs. The seed corpus holds records as
//! each released plugin version wrote them.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use pagerduty_core::store::link_key;
use pd_ffi_host::{
    activate_request, command_request, configured_settings, http_request, seed_state, FfiCore,
    JsonHost, CLOSED_LOOPBACK_URL, KNOWN_STATE,
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
    let Some((&slot, record)) = data.split_first() else {
        return;
    };
    // Go's plugin API hands the core KV values as strings, and encoding/json
    // replaces invalid UTF-8, so the core only ever sees valid UTF-8.
    let record = String::from_utf8_lossy(record).into_owned();
    let host = JsonHost::new("http://127.0.0.1:8065");
    let state_key = seed_state(&host, USER_ID);
    let key = if slot & 1 == 0 {
        link_key(USER_ID)
    } else {
        state_key
    };
    host.kv.lock().unwrap().insert(key, record);

    let query = format!("code=c&state={KNOWN_STATE}");
    for request in [
        command_request(USER_ID, "/pd connect"),
        http_request("GET", "/oauth/complete", &query, USER_ID, ""),
        command_request(USER_ID, "/pd help"),
        command_request(USER_ID, "/pd disconnect"),
    ] {
        core().call_json(&host, &request);
    }
});
