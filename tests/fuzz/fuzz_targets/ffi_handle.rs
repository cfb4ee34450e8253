//! Arbitrary bytes into every exported C function: `pd_core_handle` with the
//! input as the request, `pd_bytes_free` on its reply, null pointers when the
//! first byte selects them, and `pd_core_new`/`pd_core_free` now and then.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use pagerduty_core::ffi::{pd_core_free, pd_core_new, PD_STATUS_INVALID_ARGUMENT};
use pd_ffi_host::{
    activate_request, configured_settings, handle_raw, FfiCore, JsonHost, CLOSED_LOOPBACK_URL,
    TEST_SITE_URL,
};

fn shared() -> &'static (FfiCore, JsonHost) {
    static SHARED: OnceLock<(FfiCore, JsonHost)> = OnceLock::new();
    SHARED.get_or_init(|| {
        let core = FfiCore::new();
        let host = JsonHost::new(TEST_SITE_URL);
        host.add_admin("adminuserid000000000000000");
        core.call_json(
            &host,
            &activate_request(&configured_settings(CLOSED_LOOPBACK_URL)),
        );
        (core, host)
    })
}

fuzz_target!(|data: &[u8]| {
    let (core, host) = shared();
    let Some((&mode, request)) = data.split_first() else {
        return;
    };
    match mode {
        // Null reply pointer: rejected before anything is written.
        0 => {
            let status =
                unsafe { handle_raw(core.as_ptr(), 0, request.as_ptr(), request.len(), false) };
            assert_eq!(status, PD_STATUS_INVALID_ARGUMENT);
        }
        // Null request with a non-zero length, and a null core.
        1 => {
            let status =
                unsafe { handle_raw(core.as_ptr(), 0, std::ptr::null(), request.len() + 1, true) };
            assert_eq!(status, PD_STATUS_INVALID_ARGUMENT);
            let status =
                unsafe { handle_raw(std::ptr::null(), 0, request.as_ptr(), request.len(), true) };
            assert_eq!(status, PD_STATUS_INVALID_ARGUMENT);
        }
        // A fresh core for this one request, freed right after.
        2 => {
            let fresh = pd_core_new();
            assert!(!fresh.is_null());
            let context = host as *const JsonHost as usize;
            unsafe {
                handle_raw(fresh, context, request.as_ptr(), request.len(), true);
                pd_core_free(fresh);
            }
        }
        _ => {
            core.call(host, request);
        }
    }
});
