//! Arbitrary host replies: every host callback replies with the input's
//! bytes and status while the core runs a hook that makes host calls.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use pd_ffi_host::{
    activate_request, command_request, configured_settings, http_request, FfiCore, ForcedReply,
    JsonHost, CLOSED_LOOPBACK_URL,
};
use serde_json::Value;

fn core() -> &'static FfiCore {
    static CORE: OnceLock<FfiCore> = OnceLock::new();
    CORE.get_or_init(FfiCore::new)
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, reply)) = data.split_first() else {
        return;
    };
    let settings = configured_settings(CLOSED_LOOPBACK_URL);
    let requests: [Value; 7] = [
        activate_request(&settings),
        command_request("useridaaaaaaaaaaaaaaaaaaaa", "/pd help"),
        command_request("useridaaaaaaaaaaaaaaaaaaaa", "/pd connect"),
        command_request("useridaaaaaaaaaaaaaaaaaaaa", "/pd disconnect"),
        command_request("adminuserid000000000000000", "/pd configure"),
        http_request(
            "GET",
            "/oauth/connect",
            "",
            "useridaaaaaaaaaaaaaaaaaaaa",
            "",
        ),
        http_request(
            "GET",
            "/oauth/complete",
            "code=c&state=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "useridaaaaaaaaaaaaaaaaaaaa",
            "",
        ),
    ];
    let host = JsonHost::new("http://127.0.0.1:8065");
    // Activate for real first, so the hooks after it reach their host calls.
    core().call_json(&host, &activate_request(&settings));
    *host.forced_reply.lock().unwrap() = Some(ForcedReply {
        status: i32::from(selector & 0x80 != 0),
        bytes: reply.to_vec(),
    });
    let request = &requests[usize::from(selector & 0x7f) % requests.len()];
    core().call_json(&host, request);
});
