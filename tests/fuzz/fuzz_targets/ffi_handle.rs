//! Arbitrary bytes into every exported C function: `pd_core_handle` with the
//! input as the request, `pd_bytes_free` on its reply, null pointers when the
//! first byte asks for them, and `pd_core_new`/`pd_core_free` now and then.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use pagerduty_core::ffi::{
    pd_bytes_free, pd_core_free, pd_core_handle, pd_core_new, PdBytes, PD_STATUS_INVALID_ARGUMENT,
};
use pd_ffi_host::{
    activate_request, callbacks, configured_settings, FfiCore, JsonHost, CLOSED_LOOPBACK_URL,
};

fn shared() -> &'static (FfiCore, JsonHost) {
    static SHARED: OnceLock<(FfiCore, JsonHost)> = OnceLock::new();
    SHARED.get_or_init(|| {
        let core = FfiCore::new();
        let host = JsonHost::new("http://127.0.0.1:8065");
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
            let status = unsafe {
                pd_core_handle(
                    core.as_ptr(),
                    callbacks(),
                    0,
                    request.as_ptr(),
                    request.len(),
                    std::ptr::null_mut(),
                )
            };
            assert_eq!(status, PD_STATUS_INVALID_ARGUMENT);
        }
        // Null request with a non-zero length, and a null core.
        1 => {
            let mut reply = PdBytes {
                ptr: std::ptr::null_mut(),
                len: 0,
            };
            let status = unsafe {
                pd_core_handle(
                    core.as_ptr(),
                    callbacks(),
                    0,
                    std::ptr::null(),
                    request.len() + 1,
                    &mut reply,
                )
            };
            assert_eq!(status, PD_STATUS_INVALID_ARGUMENT);
            unsafe { pd_bytes_free(reply) };
            let mut reply = PdBytes {
                ptr: std::ptr::null_mut(),
                len: 0,
            };
            let status = unsafe {
                pd_core_handle(
                    std::ptr::null(),
                    callbacks(),
                    0,
                    request.as_ptr(),
                    request.len(),
                    &mut reply,
                )
            };
            assert_eq!(status, PD_STATUS_INVALID_ARGUMENT);
            unsafe { pd_bytes_free(reply) };
        }
        // A fresh core for this one request, freed right after.
        2 => {
            let fresh = pd_core_new();
            assert!(!fresh.is_null());
            let mut reply = PdBytes {
                ptr: std::ptr::null_mut(),
                len: 0,
            };
            unsafe {
                pd_core_handle(
                    fresh,
                    callbacks(),
                    host as *const JsonHost as usize,
                    request.as_ptr(),
                    request.len(),
                    &mut reply,
                );
                pd_bytes_free(reply);
                pd_core_free(fresh);
            }
        }
        _ => {
            core.call(host, request);
        }
    }
});
