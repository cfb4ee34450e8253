//! Arbitrary bodies for the configure dialog's submission,
//! `POST /dialog/configure`, sent by a system admin.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use pd_ffi_host::{
    activate_request, configured_settings, http_request, FfiCore, JsonHost, CLOSED_LOOPBACK_URL,
};

const ADMIN_ID: &str = "adminuserid000000000000000";

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
    let body = String::from_utf8_lossy(data);
    let host = JsonHost::new("http://127.0.0.1:8065");
    host.add_admin(ADMIN_ID);
    let (_, reply) = core().call_json(
        &host,
        &http_request("POST", "/dialog/configure", "", ADMIN_ID, &body),
    );
    assert!(
        reply["status"].as_u64().is_some(),
        "no HTTP status in {reply}"
    );
});
