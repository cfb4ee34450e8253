//! Arbitrary KV records: the input is stored as the user's link record or as
//! the pending authorization under a known state, and then every command
//! and route that reads such a record runs. The seed corpus holds records as
//! each released plugin version wrote them.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pagerduty_core::store::link_key;
use pd_ffi_host::{
    command_request, configured_core, http_request, seed_state, JsonHost, KNOWN_STATE,
    TEST_SITE_URL,
};

const USER_ID: &str = "useridaaaaaaaaaaaaaaaaaaaa";

fuzz_target!(|data: &[u8]| {
    let Some((&slot, record)) = data.split_first() else {
        return;
    };
    // Go's plugin API hands the core KV values as strings, and encoding/json
    // replaces invalid UTF-8, so the core only ever receives valid UTF-8.
    let record = String::from_utf8_lossy(record).into_owned();
    let host = JsonHost::new(TEST_SITE_URL);
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
        configured_core().call_json(&host, &request);
    }
});
