//! The wasmgate plugin kit for Rust.
//!
//! ```ignore
//! use wasmgate_kit::{run, Envelope, HookResult};
//!
//! #[no_mangle]
//! pub extern "C" fn pre_enrich() -> i32 {
//!     run(|env: &Envelope, out: &mut HookResult| {
//!         out.request.set_header("x-request-id", &env.metadata.request_id);
//!         out.request.add_header("x-wasmgate-trace", "pre");
//!     })
//! }
//! ```
//!
//! `run` reads the envelope through `wasmgate:host/v1` (one host call),
//! decodes it into typed records, answers `{"error": "unsupported ABI
//! version"}` for an envelope version it does not know, and writes the
//! result in the canonical encoding of docs/abi.md §6 — zero bytes when the
//! plugin changed nothing. The kit has no dependencies and never panics on
//! bad input: errors travel as `{"error": …}`.
//!
//! Outbound calls are continuations (docs/outbound.md): the handler asks
//! for calls with `out.call(…)`, the gateway makes them in parallel and runs
//! the same export again, where `env.answer(id)` has each answer:
//!
//! ```ignore
//! run(|env: &Envelope, out: &mut HookResult| {
//!     if !env.is_continuation() {
//!         out.call("users", "GET", env.spec.config_data.get_str("users_url", ""));
//!         return;
//!     }
//!     match env.answer("users") {
//!         Some(a) if a.ok() && a.status == 200 => out.respond(200, a.body.clone(), Headers::new()),
//!         _ => out.respond_error(502, "users failed"),
//!     }
//! })
//! ```

pub mod envelope;
pub mod host;
pub mod msgpack;
pub mod result;
pub mod text;

pub use envelope::{Answers, CallAnswer, Envelope, Fields, Metadata, Multi, Request, Response, Spec, ABI_VERSION};
pub use host::{log, LogLevel};
pub use msgpack::{DecodeError, Reader, Value, Writer};
pub use result::{
    AccessDefinition, AllowedUrl, Call, Headers, HookResult, RecordChanges, RequestChanges, ResponseChanges,
    ReturnOverrides, Session,
};
pub use text::{base64_decode, base64_encode, json_escape};

/// Runs one hook call: envelope in, `handler`, canonical result out.
/// Returns 0 (the Extism convention; the host ignores the value).
pub fn run<F: FnOnce(&Envelope, &mut HookResult)>(handler: F) -> i32 {
    let input = host::read_input();
    let output = handle(&input, handler);
    if !output.is_empty() {
        host::write_output(&output);
    }
    0
}

/// The pure part of `run`: envelope bytes in, result bytes out.
pub fn handle<F: FnOnce(&Envelope, &mut HookResult)>(input: &[u8], handler: F) -> Vec<u8> {
    let mut result = HookResult::default();
    match Envelope::decode(input) {
        Err(e) => result.fail(&format!("the envelope is not valid msgpack: {}", e)),
        Ok(env) if env.v != ABI_VERSION => result.fail("unsupported ABI version"),
        Ok(env) => handler(&env, &mut result),
    }
    result.encode()
}

/// A one-header map, for `HookResult::respond`.
pub fn headers(name: &str, value: &str) -> Headers {
    let mut h = Headers::new();
    h.set(name, value);
    h
}
