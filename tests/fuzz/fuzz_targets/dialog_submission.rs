//! Arbitrary bodies for the configure dialog's submission,
//! `POST /dialog/configure`, sent by a system admin.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pd_ffi_host::{configured_core, http_request, JsonHost, TEST_SITE_URL};

const ADMIN_ID: &str = "adminuserid000000000000000";

fuzz_target!(|data: &[u8]| {
    let body = String::from_utf8_lossy(data);
    let host = JsonHost::new(TEST_SITE_URL);
    host.add_admin(ADMIN_ID);
    let (_, reply) = configured_core().call_json(
        &host,
        &http_request("POST", "/dialog/configure", "", ADMIN_ID, &body),
    );
    assert!(
        reply["status"].as_u64().is_some(),
        "no HTTP status in {reply}"
    );
});
