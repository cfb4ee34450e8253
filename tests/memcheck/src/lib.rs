//! A host for the core's C ABI, written the way the Go shim uses it: the
//! core calls `host_call` with JSON, and the reply is `malloc`ed memory that
//! the core releases through `host_free`. The KV store, the Site URL and the
//! system admins live in memory.
//!
//! The memcheck harness, the fuzz targets and the benchmarks share it, so
//! each of them crosses the same C ABI that the plugin binary crosses.

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, OnceLock};

use pagerduty_core::ffi::{
    pd_bytes_free, pd_core_free, pd_core_handle, pd_core_new, PdBytes, PdCore, PdHostBytes,
    PdHostCallbacks, PD_STATUS_ERROR, PD_STATUS_OK,
};
use serde_json::{json, Value};

/// Settings of a configured plugin whose identity and REST URLs point at
/// `base_url`. The key and credentials are test values.
pub fn configured_settings(base_url: &str) -> Value {
    json!({
        "clientid": "bench-client",
        "clientsecret": "bench-secret",
        "encryptionkey": TEST_KEY_SETTING,
        "identityurl": base_url,
        "apiurl": base_url,
        "scope": "write",
    })
}

/// A base URL on loopback where nothing listens (port 9, the discard
/// service), so a token request fails at once without leaving the machine.
pub const CLOSED_LOOPBACK_URL: &str = "http://127.0.0.1:9";

/// A reply that every host call returns instead of a real one.
#[derive(Clone)]
pub struct ForcedReply {
    pub status: i32,
    pub bytes: Vec<u8>,
}

/// In-memory Mattermost for the core. Shared between threads, so every
/// field sits behind a mutex.
pub struct JsonHost {
    pub kv: Mutex<HashMap<String, String>>,
    pub site_url: String,
    pub admins: Mutex<HashSet<String>>,
    pub forced_reply: Mutex<Option<ForcedReply>>,
    pub host_calls: Mutex<u64>,
}

impl JsonHost {
    pub fn new(site_url: &str) -> Self {
        JsonHost {
            kv: Mutex::new(HashMap::new()),
            site_url: site_url.to_string(),
            admins: Mutex::new(HashSet::new()),
            forced_reply: Mutex::new(None),
            host_calls: Mutex::new(0),
        }
    }

    pub fn add_admin(&self, user_id: &str) {
        self.admins.lock().unwrap().insert(user_id.to_string());
    }

    /// Performs one host request and returns its status and JSON reply.
    fn perform(&self, request: &[u8]) -> (i32, Vec<u8>) {
        *self.host_calls.lock().unwrap() += 1;
        if let Some(forced) = self.forced_reply.lock().unwrap().clone() {
            return (forced.status, forced.bytes);
        }
        let request: Value = match serde_json::from_slice(request) {
            Ok(request) => request,
            Err(error) => return error_reply(&format!("invalid host request: {error}")),
        };
        let text = |name: &str| request[name].as_str().unwrap_or_default().to_string();
        let mut kv = self.kv.lock().unwrap();
        let reply = match request["op"].as_str().unwrap_or_default() {
            "kv_get" => json!({ "value": kv.get(&text("key")) }),
            "kv_set" => {
                kv.insert(text("key"), text("value"));
                json!({})
            }
            "kv_compare_and_set" => {
                let key = text("key");
                let stored = kv.get(&key).map(String::as_str) == request["old"].as_str();
                if stored {
                    kv.insert(key, text("new"));
                }
                json!({ "stored": stored })
            }
            "kv_compare_and_delete" => {
                let key = text("key");
                let deleted = kv.get(&key).map(String::as_str) == request["old"].as_str();
                if deleted {
                    kv.remove(&key);
                }
                json!({ "deleted": deleted })
            }
            "kv_delete" => {
                kv.remove(&text("key"));
                json!({})
            }
            "get_site_url" => json!({ "site_url": self.site_url }),
            "has_permission" => {
                let allowed = text("permission") == "manage_system"
                    && self.admins.lock().unwrap().contains(&text("user_id"));
                json!({ "allowed": allowed })
            }
            "ensure_bot" => json!({ "user_id": "botuserid00000000000000000" }),
            "save_plugin_config"
            | "register_command"
            | "send_ephemeral_post"
            | "send_direct_message"
            | "open_dialog"
            | "log" => json!({}),
            other => return error_reply(&format!("unknown host op {other:?}")),
        };
        (PD_STATUS_OK, reply.to_string().into_bytes())
    }
}

fn error_reply(message: &str) -> (i32, Vec<u8>) {
    (
        PD_STATUS_ERROR,
        json!({ "error": message }).to_string().into_bytes(),
    )
}

/// The host callback. `context` is the address of a live [`JsonHost`].
unsafe extern "C" fn host_call(
    context: usize,
    request: *const u8,
    request_len: usize,
    reply: *mut PdHostBytes,
) -> i32 {
    // SAFETY: `Core::call` passes the context it was given, the address of a
    // JsonHost that outlives the call, and `request_len` readable bytes.
    let host = unsafe { &*(context as *const JsonHost) };
    let request = unsafe { std::slice::from_raw_parts(request, request_len) };
    let (status, bytes) = host.perform(request);
    // Like Go's C.CBytes: malloc, released by host_free.
    let ptr = unsafe { libc::malloc(bytes.len().max(1)) } as *mut u8;
    assert!(!ptr.is_null(), "malloc failed");
    unsafe {
        std::ptr::copy_nonoverlapping(bytes.as_ptr(), ptr, bytes.len());
        (*reply).ptr = ptr;
        (*reply).len = bytes.len();
    }
    status
}

unsafe extern "C" fn host_free(ptr: *mut u8) {
    unsafe { libc::free(ptr as *mut libc::c_void) };
}

/// Callbacks that route host calls to a [`JsonHost`].
pub fn callbacks() -> PdHostCallbacks {
    PdHostCallbacks {
        call: Some(host_call),
        free: Some(host_free),
    }
}

/// A core created through `pd_core_new` and freed through `pd_core_free`.
pub struct FfiCore {
    ptr: *mut PdCore,
}

// SAFETY: the core accepts concurrent hook calls from several threads.
unsafe impl Send for FfiCore {}
unsafe impl Sync for FfiCore {}

impl FfiCore {
    pub fn new() -> Self {
        let ptr = pd_core_new();
        assert!(!ptr.is_null(), "pd_core_new returned null");
        FfiCore { ptr }
    }

    /// Sends one hook request through `pd_core_handle` and returns the
    /// status and a copy of the reply, which is then freed.
    pub fn call(&self, host: &JsonHost, request: &[u8]) -> (i32, Vec<u8>) {
        let mut reply = PdBytes {
            ptr: std::ptr::null_mut(),
            len: 0,
        };
        // SAFETY: `self.ptr` is live, `request` is readable, and `reply` is
        // a writable PdBytes; `host` outlives the call.
        let status = unsafe {
            pd_core_handle(
                self.ptr,
                callbacks(),
                host as *const JsonHost as usize,
                request.as_ptr(),
                request.len(),
                &mut reply,
            )
        };
        let bytes = if reply.ptr.is_null() {
            Vec::new()
        } else {
            // SAFETY: the core returned `len` readable bytes at `ptr`.
            unsafe { std::slice::from_raw_parts(reply.ptr, reply.len) }.to_vec()
        };
        unsafe { pd_bytes_free(reply) };
        (status, bytes)
    }

    /// Sends a JSON value and returns the status and the reply as JSON
    /// (`Value::Null` when the reply is empty or not JSON).
    pub fn call_json(&self, host: &JsonHost, request: &Value) -> (i32, Value) {
        let (status, bytes) = self.call(host, request.to_string().as_bytes());
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    pub fn as_ptr(&self) -> *mut PdCore {
        self.ptr
    }
}

impl Default for FfiCore {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for FfiCore {
    fn drop(&mut self) {
        // SAFETY: `ptr` came from pd_core_new and is freed only here.
        unsafe { pd_core_free(self.ptr) };
    }
}

/// Site URL that every test host reports.
pub const TEST_SITE_URL: &str = "http://127.0.0.1:8065";

/// Returns a core shared by the whole process, activated with
/// [`configured_settings`] pointing at [`CLOSED_LOOPBACK_URL`], so calls that
/// reach PagerDuty fail fast.
pub fn configured_core() -> &'static FfiCore {
    static CORE: OnceLock<FfiCore> = OnceLock::new();
    CORE.get_or_init(|| {
        let core = FfiCore::new();
        let host = JsonHost::new(TEST_SITE_URL);
        core.call_json(
            &host,
            &activate_request(&configured_settings(CLOSED_LOOPBACK_URL)),
        );
        core
    })
}

/// Calls `pd_core_handle` with raw, possibly null pointers, frees any reply
/// and returns the status. With `with_reply` false the reply pointer is null.
///
/// # Safety
/// `core` must be null or live, and `request` must be null or point to
/// `request_len` readable bytes.
pub unsafe fn handle_raw(
    core: *const PdCore,
    host_context: usize,
    request: *const u8,
    request_len: usize,
    with_reply: bool,
) -> i32 {
    let mut reply = PdBytes {
        ptr: std::ptr::null_mut(),
        len: 0,
    };
    let reply_pointer: *mut PdBytes = if with_reply {
        &mut reply
    } else {
        std::ptr::null_mut()
    };
    // SAFETY: the caller's promises cover `core` and `request`, and
    // `reply_pointer` is null or points to `reply`.
    let status = unsafe {
        pd_core_handle(
            core,
            callbacks(),
            host_context,
            request,
            request_len,
            reply_pointer,
        )
    };
    // SAFETY: `reply` is empty or was filled by the core, and is freed once.
    unsafe { pd_bytes_free(reply) };
    status
}

/// Returns an `activate` hook request.
pub fn activate_request(settings: &Value) -> Value {
    json!({ "hook": "activate", "config": settings })
}

/// Returns an `execute_command` hook request, shaped as the Go shim sends
/// `model.CommandArgs`.
pub fn command_request(user_id: &str, command: &str) -> Value {
    json!({
        "hook": "execute_command",
        "args": {
            "user_id": user_id,
            "channel_id": "channelid0000000000000000a",
            "team_id": "teamid000000000000000000aa",
            "trigger_id": "",
            "command": command,
        },
    })
}

/// Returns a `serve_http` hook request, shaped as the Go shim sends it.
pub fn http_request(method: &str, path: &str, query: &str, user_id: &str, body: &str) -> Value {
    json!({
        "hook": "serve_http",
        "request": {
            "method": method,
            "path": path,
            "query": query,
            "user_id": user_id,
            "content_type": "application/json",
            "body": body,
        },
    })
}

/// The encryption key setting in [`configured_settings`].
pub const TEST_KEY_SETTING: &str = "bWVtY2hlY2sga2V5IGZvciB0ZXN0cyBvbmx5IDAwMDA=";

/// A well-formed OAuth state value that [`seed_state`] stores.
pub const KNOWN_STATE: &str = "S3tat3S3tat3S3tat3S3tat3S3tat3S3tat3S3tat3A";

/// Stores a pending authorization for `user_id` under [`KNOWN_STATE`], as
/// `/oauth/connect` stores one, and returns the KV key.
pub fn seed_state(host: &JsonHost, user_id: &str) -> String {
    use pagerduty_core::crypto::EncryptionKey;
    use pagerduty_core::store::{seal_context, state_key, StateRecord, RECORD_VERSION};

    let key = EncryptionKey::from_setting(TEST_KEY_SETTING);
    let record = StateRecord {
        version: RECORD_VERSION,
        user_id: user_id.to_string(),
        code_verifier: key.seal(
            b"verifier-verifier-verifier-verifier-verifier",
            &seal_context("code_verifier", user_id),
        ),
        created_at: pagerduty_core::store::unix_now(),
    };
    let kv_key = state_key(KNOWN_STATE);
    host.kv
        .lock()
        .unwrap()
        .insert(kv_key.clone(), serde_json::to_string(&record).unwrap());
    kv_key
}
pub mod sim;
