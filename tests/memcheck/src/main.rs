//! Drives every entry point of the core's C ABI, on success and error paths,
//! so that valgrind (see `make memcheck`) can report leaks and invalid
//! memory use. Exits non-zero when a call returns an unexpected status.
//!
//! Usage: pd-memcheck --calls N --sim-flows M --pdsim PATH

use std::time::Instant;

use pagerduty_core::ffi::{
    pd_bytes_free, pd_core_free, pd_core_new, PdBytes, PD_STATUS_ERROR, PD_STATUS_INVALID_ARGUMENT,
    PD_STATUS_OK,
};
use pd_ffi_host::sim::{consent, Simulator};
use pd_ffi_host::{
    activate_request, command_request, configured_settings, handle_raw, http_request, seed_state,
    FfiCore, ForcedReply, JsonHost, CLOSED_LOOPBACK_URL, KNOWN_STATE, TEST_SITE_URL,
};
use serde_json::Value;

const USER_ID: &str = "useridaaaaaaaaaaaaaaaaaaaa";
const ADMIN_ID: &str = "adminuserid000000000000000";
/// Cores are expensive to start (a tokio runtime each), so this path runs
/// at most this many times, whatever the value of `--calls`.
const MAX_CORE_STARTS: usize = 200;

struct Options {
    calls: usize,
    sim_flows: usize,
    pdsim: Option<String>,
}

fn parse_options() -> Options {
    let mut options = Options {
        calls: 10_000,
        sim_flows: 300,
        pdsim: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args
            .next()
            .unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--calls" => options.calls = value.parse().expect("--calls takes a number"),
            "--sim-flows" => options.sim_flows = value.parse().expect("--sim-flows takes a number"),
            "--pdsim" => options.pdsim = Some(value),
            _ => panic!("unknown flag {flag}; use --calls N --sim-flows M --pdsim PATH"),
        }
    }
    options
}

/// Runs `call` `count` times and checks each returned status.
fn repeat(name: &str, count: usize, expected: i32, mut call: impl FnMut() -> i32) {
    let started = Instant::now();
    for index in 0..count {
        let status = call();
        assert_eq!(
            status, expected,
            "{name}: call {index} returned status {status}"
        );
    }
    eprintln!("memcheck: {name}: {count} calls, {:.1?}", started.elapsed());
}

fn status_of(core: &FfiCore, host: &JsonHost, request: &Value) -> i32 {
    core.call_json(host, request).0
}

fn main() {
    let options = parse_options();
    let calls = options.calls;
    let settings = configured_settings(CLOSED_LOOPBACK_URL);

    repeat(
        "pd_core_new + pd_core_free",
        calls.min(MAX_CORE_STARTS),
        PD_STATUS_OK,
        || {
            let core = pd_core_new();
            assert!(!core.is_null());
            unsafe { pd_core_free(core) };
            PD_STATUS_OK
        },
    );
    repeat(
        "pd_core_free(null) + pd_bytes_free(null)",
        calls,
        PD_STATUS_OK,
        || {
            unsafe {
                pd_core_free(std::ptr::null_mut());
                pd_bytes_free(PdBytes {
                    ptr: std::ptr::null_mut(),
                    len: 0,
                });
            }
            PD_STATUS_OK
        },
    );

    let core = FfiCore::new();
    let host = JsonHost::new(TEST_SITE_URL);
    host.add_admin(ADMIN_ID);
    repeat("activate", calls, PD_STATUS_OK, || {
        status_of(&core, &host, &activate_request(&settings))
    });
    repeat("/pd help", calls, PD_STATUS_OK, || {
        status_of(&core, &host, &command_request(USER_ID, "/pd help"))
    });
    repeat("/pd connect", calls, PD_STATUS_OK, || {
        status_of(&core, &host, &command_request(USER_ID, "/pd connect"))
    });
    repeat("/pd configure", calls, PD_STATUS_OK, || {
        status_of(&core, &host, &command_request(ADMIN_ID, "/pd configure"))
    });
    repeat("/pd disconnect", calls, PD_STATUS_OK, || {
        status_of(&core, &host, &command_request(USER_ID, "/pd disconnect"))
    });
    repeat("GET /oauth/connect", calls, PD_STATUS_OK, || {
        host.kv.lock().unwrap().clear();
        status_of(
            &core,
            &host,
            &http_request("GET", "/oauth/connect", "", USER_ID, ""),
        )
    });
    // The token request goes to a closed loopback port and fails at once.
    let query = format!("code=c&state={KNOWN_STATE}");
    repeat(
        "GET /oauth/complete, token request refused",
        calls.min(1_000),
        PD_STATUS_OK,
        || {
            seed_state(&host, USER_ID);
            status_of(
                &core,
                &host,
                &http_request("GET", "/oauth/complete", &query, USER_ID, ""),
            )
        },
    );
    let submission = r#"{"callback_id":"configure","submission":{"client_id":"bench-client","client_secret":"bench-secret"}}"#;
    repeat("POST /dialog/configure", calls, PD_STATUS_OK, || {
        status_of(
            &core,
            &host,
            &http_request("POST", "/dialog/configure", "", ADMIN_ID, submission),
        )
    });
    repeat("configuration_change", calls, PD_STATUS_OK, || {
        status_of(
            &core,
            &host,
            &serde_json::json!({"hook": "configuration_change", "config": settings}),
        )
    });

    // Error paths.
    repeat("invalid JSON request", calls, PD_STATUS_ERROR, || {
        core.call(&host, b"{not json").0
    });
    repeat("host call fails", calls, PD_STATUS_ERROR, || {
        *host.forced_reply.lock().unwrap() = Some(ForcedReply {
            status: PD_STATUS_ERROR,
            bytes: br#"{"error":"injected"}"#.to_vec(),
        });
        let status = status_of(&core, &host, &activate_request(&serde_json::json!({})));
        *host.forced_reply.lock().unwrap() = None;
        status
    });
    repeat("host reply is not JSON", calls, PD_STATUS_ERROR, || {
        *host.forced_reply.lock().unwrap() = Some(ForcedReply {
            status: PD_STATUS_OK,
            bytes: b"\xff\xfe".to_vec(),
        });
        let status = status_of(&core, &host, &activate_request(&settings));
        *host.forced_reply.lock().unwrap() = None;
        status
    });
    repeat("null arguments", calls, PD_STATUS_INVALID_ARGUMENT, || {
        let request = b"{}";
        let null_core =
            unsafe { handle_raw(std::ptr::null(), 0, request.as_ptr(), request.len(), true) };
        let null_request = unsafe { handle_raw(core.as_ptr(), 0, std::ptr::null(), 5, true) };
        let null_reply =
            unsafe { handle_raw(core.as_ptr(), 0, request.as_ptr(), request.len(), false) };
        assert_eq!((null_core, null_request), (null_reply, null_reply));
        null_reply
    });
    drop(core);

    if options.sim_flows > 0 {
        let binary = options
            .pdsim
            .as_deref()
            .expect("--pdsim PATH is needed for --sim-flows");
        sim_flows(binary, options.sim_flows);
    }
    eprintln!("memcheck: every call returned the expected status");
}

/// Whole connect flows against the simulator: connect route, consent,
/// callback with the token exchange and `GET /users/me`, then `/pd disconnect`.
fn sim_flows(binary: &str, count: usize) {
    let redirect_uri = format!("{TEST_SITE_URL}/plugins/mattermost-pagerduty/oauth/complete");
    let simulator = Simulator::start(binary, &redirect_uri);
    let core = FfiCore::new();
    let host = JsonHost::new(TEST_SITE_URL);
    core.call_json(
        &host,
        &activate_request(&configured_settings(&simulator.base_url)),
    );
    let mut cookie = None;
    repeat("connect flow against pdsim", count, PD_STATUS_OK, || {
        let (status, reply) = core.call_json(
            &host,
            &http_request("GET", "/oauth/connect", "", USER_ID, ""),
        );
        assert_eq!(reply["status"], 302, "connect route: {reply}");
        let location = reply["headers"]
            .as_array()
            .and_then(|headers| headers.iter().find(|pair| pair[0] == "Location"))
            .and_then(|pair| pair[1].as_str())
            .expect("a Location header")
            .to_string();
        let query = consent(&simulator.base_url, &location, &mut cookie);
        let (_, page) = core.call_json(
            &host,
            &http_request("GET", "/oauth/complete", &query, USER_ID, ""),
        );
        assert_eq!(page["status"], 200, "callback: {page}");
        let (_, reply) = core.call_json(&host, &command_request(USER_ID, "/pd disconnect"));
        assert!(reply["response"]["text"].is_string(), "disconnect: {reply}");
        status
    });
}
