//! The `wasmgate:host/v1` fast path (docs/abi.md §2): the envelope comes in
//! with one host call and the result goes out with one. Off wasm32 (for
//! `cargo test` on the build machine) the calls use a thread-local buffer.

#[cfg(target_arch = "wasm32")]
mod imports {
    #[link(wasm_import_module = "wasmgate:host/v1")]
    extern "C" {
        #[link_name = "input_length"]
        pub fn wg_input_length() -> i32;
        #[link_name = "input_read"]
        pub fn wg_input_read(dst: *mut u8);
        #[link_name = "output_write"]
        pub fn wg_output_write(src: *const u8, len: i32);
        #[link_name = "log"]
        pub fn wg_log(level: i32, src: *const u8, len: i32);
    }
}

/// Log levels of `wasmgate:host/v1.log`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogLevel {
    Trace = 0,
    Debug = 1,
    Info = 2,
    Warn = 3,
    Error = 4,
}

/// The whole envelope of this call.
#[cfg(target_arch = "wasm32")]
pub fn read_input() -> Vec<u8> {
    unsafe {
        let n = imports::wg_input_length().max(0) as usize;
        let mut buf = Vec::with_capacity(n);
        if n > 0 {
            imports::wg_input_read(buf.as_mut_ptr());
            buf.set_len(n);
        }
        buf
    }
}

/// Sets this call's result bytes.
#[cfg(target_arch = "wasm32")]
pub fn write_output(bytes: &[u8]) {
    unsafe { imports::wg_output_write(bytes.as_ptr(), bytes.len() as i32) }
}

/// One log line (the host caps and escapes it).
#[cfg(target_arch = "wasm32")]
pub fn log(level: LogLevel, message: &str) {
    unsafe { imports::wg_log(level as i32, message.as_ptr(), message.len() as i32) }
}

#[cfg(not(target_arch = "wasm32"))]
mod native {
    use std::cell::RefCell;
    thread_local! {
        pub static INPUT: RefCell<Vec<u8>> = RefCell::new(Vec::new());
        pub static OUTPUT: RefCell<Option<Vec<u8>>> = RefCell::new(None);
    }
}

#[cfg(not(target_arch = "wasm32"))]
pub fn read_input() -> Vec<u8> {
    native::INPUT.with(|i| i.borrow().clone())
}

#[cfg(not(target_arch = "wasm32"))]
pub fn write_output(bytes: &[u8]) {
    native::OUTPUT.with(|o| *o.borrow_mut() = Some(bytes.to_vec()));
}

#[cfg(not(target_arch = "wasm32"))]
pub fn log(level: LogLevel, message: &str) {
    eprintln!("[{:?}] {}", level, message);
}

/// Native builds only: calls `export` with `input` the way the host would and
/// returns the output (empty when the plugin wrote none).
#[cfg(not(target_arch = "wasm32"))]
pub fn call_native(export: extern "C" fn() -> i32, input: &[u8]) -> Vec<u8> {
    native::INPUT.with(|i| *i.borrow_mut() = input.to_vec());
    native::OUTPUT.with(|o| *o.borrow_mut() = None);
    export();
    native::OUTPUT.with(|o| o.borrow_mut().take().unwrap_or_default())
}
