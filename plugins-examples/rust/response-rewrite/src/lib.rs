//! response hook: rewrites an internal Location to the external URL
//! (config_data.internal_url → external_url) and adds two Set-Cookie values.
use wasmgate_kit::{run, Envelope, HookResult};

#[no_mangle]
pub extern "C" fn response_rewrite() -> i32 {
    run(|env: &Envelope, out: &mut HookResult| {
        let config = &env.spec.config_data;
        let internal = config.get_str("internal_url", "");
        let external = config.get_str("external_url", "");
        let location = env.response.as_ref().and_then(|r| r.header("location"));
        if let Some(location) = location {
            if !internal.is_empty() && location.starts_with(internal) {
                let rewritten = format!("{}{}", external, &location[internal.len()..]);
                out.response.set_header("location", &rewritten);
            }
        }
        let session = format!("wg_session={}; HttpOnly; Secure", env.metadata.request_id);
        out.response.add_header("set-cookie", &session);
        out.response.add_header("set-cookie", "wg_lang=en-US; Secure");
    })
}
