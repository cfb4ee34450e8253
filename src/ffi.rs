//! The C ABI between the Go plugin and the core.
//!
//! Ownership rules:
//! - Bytes the core returns ([`PdBytes`]) were allocated by Rust; the caller
//!   copies them and frees them exactly once with [`pd_bytes_free`].
//! - Bytes a host callback returns were allocated by the Go side; the core
//!   copies them and frees them exactly once with the callback table's `free`.
//! - A panic inside the core is caught at each entry point and reported as
//!   [`PD_STATUS_PANIC`]; it never unwinds into Go.
//! - The core never writes to stdout, which carries the plugin RPC handshake.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;

use serde_json::{json, Value};

use crate::core::Core;
use crate::host::{Host, HostError, HostRequest};

/// The call succeeded; the reply contains its JSON result.
pub const PD_STATUS_OK: i32 = 0;
/// The call failed; the reply contains `{"error": "…"}`.
pub const PD_STATUS_ERROR: i32 = 1;
/// The core panicked; the reply contains `{"error": "…"}`. The core stays usable.
pub const PD_STATUS_PANIC: i32 = 2;
/// A pointer argument was null or a length was inconsistent; the reply is empty.
pub const PD_STATUS_INVALID_ARGUMENT: i32 = 3;

/// Bytes owned by Rust, returned to the caller. Free with [`pd_bytes_free`].
#[repr(C)]
pub struct PdBytes {
    pub ptr: *mut u8,
    pub len: usize,
}

impl PdBytes {
    const EMPTY: PdBytes = PdBytes {
        ptr: ptr::null_mut(),
        len: 0,
    };

    fn from_vec(bytes: Vec<u8>) -> PdBytes {
        let boxed = bytes.into_boxed_slice();
        let len = boxed.len();
        let ptr = Box::into_raw(boxed) as *mut u8;
        PdBytes { ptr, len }
    }
}

/// Bytes owned by the host, filled in by a host callback. The core frees
/// them with [`PdHostCallbacks::free`].
#[repr(C)]
pub struct PdHostBytes {
    pub ptr: *mut u8,
    pub len: usize,
}

/// The host's callbacks, supplied with every call into the core.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct PdHostCallbacks {
    /// Performs one host call: `request` is JSON with an `op` field. Returns
    /// 0 with the JSON result in `reply`, or non-zero with `{"error": "…"}`
    /// in `reply`. The request bytes stay owned by the core.
    pub call: Option<
        unsafe extern "C" fn(
            context: usize,
            request: *const u8,
            request_len: usize,
            reply: *mut PdHostBytes,
        ) -> i32,
    >,
    /// Frees bytes that `call` returned in `reply`.
    pub free: Option<unsafe extern "C" fn(ptr: *mut u8)>,
}

/// The core, opaque to C.
pub struct PdCore {
    core: Core,
}

struct FfiHost {
    callbacks: PdHostCallbacks,
    context: usize,
}

impl Host for FfiHost {
    fn call(&self, request: &HostRequest<'_>) -> Result<Value, HostError> {
        let op = serde_json::to_value(request)
            .ok()
            .and_then(|value| value.get("op").and_then(Value::as_str).map(str::to_string))
            .unwrap_or_default();
        let failure = |message: String| HostError {
            op: op.clone(),
            message,
        };
        let (Some(call), Some(free)) = (self.callbacks.call, self.callbacks.free) else {
            return Err(failure("the host supplied no callbacks".to_string()));
        };
        let encoded = serde_json::to_vec(request)
            .map_err(|error| failure(format!("encoding the request failed: {error}")))?;
        let mut reply = PdHostBytes {
            ptr: ptr::null_mut(),
            len: 0,
        };
        // SAFETY: `encoded` outlives the call, and `reply` is a valid,
        // writable PdHostBytes. The host promises to fill `reply` with bytes
        // it allocated, or leave it null.
        let status = unsafe { call(self.context, encoded.as_ptr(), encoded.len(), &mut reply) };
        let bytes = if reply.ptr.is_null() {
            Vec::new()
        } else {
            // SAFETY: the host returned `len` readable bytes at `ptr`; they
            // are copied before being freed exactly once below.
            let copied = unsafe { std::slice::from_raw_parts(reply.ptr, reply.len) }.to_vec();
            unsafe { free(reply.ptr) };
            copied
        };
        let value: Value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .map_err(|error| failure(format!("the host reply is not JSON: {error}")))?
        };
        if status == PD_STATUS_OK {
            Ok(value)
        } else {
            let message = value
                .get("error")
                .and_then(Value::as_str)
                .unwrap_or("the host call failed without a message")
                .to_string();
            Err(failure(message))
        }
    }
}

fn error_reply(message: &str) -> PdBytes {
    PdBytes::from_vec(json!({ "error": message }).to_string().into_bytes())
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        text.to_string()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "unknown panic".to_string()
    }
}

/// Creates the core. Returns null when the runtime or the HTTP client
/// cannot start. Free the result with [`pd_core_free`].
#[no_mangle]
pub extern "C" fn pd_core_new() -> *mut PdCore {
    match catch_unwind(Core::new) {
        Ok(Ok(core)) => Box::into_raw(Box::new(PdCore { core })),
        _ => ptr::null_mut(),
    }
}

/// Handles one hook call.
///
/// `request` points to `request_len` bytes of JSON that the caller keeps
/// owning. On return, `*reply` contains bytes owned by Rust (possibly empty)
/// that the caller frees with [`pd_bytes_free`]. Host callbacks run on the
/// calling thread, before this function returns, with `host_context` as
/// their first argument. Returns one of the `PD_STATUS_*` values.
///
/// # Safety
/// `core` must come from [`pd_core_new`] and not be freed yet; `request`
/// must point to `request_len` readable bytes; `reply` must be writable.
#[no_mangle]
pub unsafe extern "C" fn pd_core_handle(
    core: *const PdCore,
    callbacks: PdHostCallbacks,
    host_context: usize,
    request: *const u8,
    request_len: usize,
    reply: *mut PdBytes,
) -> i32 {
    if reply.is_null() {
        return PD_STATUS_INVALID_ARGUMENT;
    }
    // SAFETY: checked non-null above; the caller promises it is writable.
    unsafe { reply.write(PdBytes::EMPTY) };
    if core.is_null() || (request.is_null() && request_len != 0) {
        return PD_STATUS_INVALID_ARGUMENT;
    }
    let request = if request_len == 0 {
        &[][..]
    } else {
        // SAFETY: the caller promises `request_len` readable bytes.
        unsafe { std::slice::from_raw_parts(request, request_len) }
    };
    // SAFETY: the caller promises `core` is live.
    let core = unsafe { &(*core).core };
    let host = FfiHost {
        callbacks,
        context: host_context,
    };
    let outcome = catch_unwind(AssertUnwindSafe(|| core.handle(&host, request)));
    let (status, bytes) = match outcome {
        Ok(Ok(bytes)) => (PD_STATUS_OK, PdBytes::from_vec(bytes)),
        Ok(Err(error)) => (PD_STATUS_ERROR, error_reply(&error.to_string())),
        Err(payload) => (
            PD_STATUS_PANIC,
            error_reply(&format!(
                "internal error in the PagerDuty plugin core: {}",
                panic_message(payload.as_ref())
            )),
        ),
    };
    // SAFETY: as above.
    unsafe { reply.write(bytes) };
    status
}

/// Frees bytes returned by [`pd_core_handle`]. Null is accepted and ignored.
///
/// # Safety
/// `bytes` must come from this library and be freed only once.
#[no_mangle]
pub unsafe extern "C" fn pd_bytes_free(bytes: PdBytes) {
    if bytes.ptr.is_null() {
        return;
    }
    // SAFETY: `ptr` and `len` came from `PdBytes::from_vec`, which leaked a
    // boxed slice of exactly that length.
    let slice = ptr::slice_from_raw_parts_mut(bytes.ptr, bytes.len);
    drop(unsafe { Box::from_raw(slice) });
}

/// Stops the runtime and frees the core. No call may be running on it.
/// Null is accepted and ignored.
///
/// # Safety
/// `core` must come from [`pd_core_new`] and be freed only once.
#[no_mangle]
pub unsafe extern "C" fn pd_core_free(core: *mut PdCore) {
    if core.is_null() {
        return;
    }
    // SAFETY: the caller passes ownership back exactly once.
    let boxed = unsafe { Box::from_raw(core) };
    let _ = catch_unwind(AssertUnwindSafe(move || drop(boxed)));
}

#[cfg(test)]
mod tests {
    use super::*;

    unsafe extern "C" fn no_host(_: usize, _: *const u8, _: usize, _: *mut PdHostBytes) -> i32 {
        PD_STATUS_ERROR
    }

    unsafe extern "C" fn no_free(_: *mut u8) {}

    fn call(core: *const PdCore, request: &[u8]) -> (i32, String) {
        let callbacks = PdHostCallbacks {
            call: Some(no_host),
            free: Some(no_free),
        };
        let mut reply = PdBytes::EMPTY;
        let status = unsafe {
            pd_core_handle(
                core,
                callbacks,
                0,
                request.as_ptr(),
                request.len(),
                &mut reply,
            )
        };
        let text = if reply.ptr.is_null() {
            String::new()
        } else {
            String::from_utf8(unsafe { std::slice::from_raw_parts(reply.ptr, reply.len) }.to_vec())
                .unwrap()
        };
        unsafe { pd_bytes_free(reply) };
        (status, text)
    }

    #[test]
    fn invalid_json_is_an_error_reply() {
        let core = pd_core_new();
        assert!(!core.is_null());
        let (status, text) = call(core, b"not json");
        assert_eq!(status, PD_STATUS_ERROR);
        assert!(text.contains("not valid"), "{text}");
        unsafe { pd_core_free(core) };
    }

    #[test]
    fn null_core_is_invalid_argument() {
        let (status, text) = call(ptr::null(), b"{}");
        assert_eq!(status, PD_STATUS_INVALID_ARGUMENT);
        assert!(text.is_empty());
    }

    #[test]
    fn failing_host_becomes_error() {
        let core = pd_core_new();
        let (status, text) = call(core, br#"{"hook":"activate","config":{}}"#);
        assert_eq!(status, PD_STATUS_ERROR);
        assert!(text.contains("save_plugin_config"), "{text}");
        unsafe { pd_core_free(core) };
    }

    #[test]
    fn free_accepts_null() {
        unsafe {
            pd_bytes_free(PdBytes::EMPTY);
            pd_core_free(ptr::null_mut());
        }
    }
}
