//! Times the core handling `/pd help` and `/pd connect` in-process, through
//! the C ABI with the in-memory host, and the diagnostic `echo_command` hook
//! (decode and reply, no host call), and prints microseconds per call.
//!
//! Usage: pd-core-bench [ITERATIONS]

use std::time::Instant;

use pd_ffi_host::{
    activate_request, command_request, configured_settings, FfiCore, JsonHost, CLOSED_LOOPBACK_URL,
};

fn main() {
    let iterations: u32 = std::env::args().nth(1).map_or(20_000, |value| {
        value.parse().expect("ITERATIONS is a number")
    });
    let core = FfiCore::new();
    let host = JsonHost::new("http://127.0.0.1:8065");
    core.call_json(
        &host,
        &activate_request(&configured_settings(CLOSED_LOOPBACK_URL)),
    );
    let mut echo = command_request("useridaaaaaaaaaaaaaaaaaaaa", "/pd help");
    echo["hook"] = serde_json::json!("echo_command");
    let cases = [
        (
            "/pd help",
            command_request("useridaaaaaaaaaaaaaaaaaaaa", "/pd help"),
        ),
        (
            "/pd connect",
            command_request("useridaaaaaaaaaaaaaaaaaaaa", "/pd connect"),
        ),
        ("echo_command", echo),
    ];
    for (command, request) in cases {
        let request = request.to_string().into_bytes();
        for _ in 0..iterations / 10 {
            core.call(&host, &request);
        }
        let started = Instant::now();
        for _ in 0..iterations {
            let (status, _) = core.call(&host, &request);
            assert_eq!(status, 0);
        }
        let micros = started.elapsed().as_secs_f64() * 1e6 / f64::from(iterations);
        println!(
            "core {command}: {micros:.2} us/call ({iterations} calls; pd-core-bench {iterations})"
        );
    }
}
