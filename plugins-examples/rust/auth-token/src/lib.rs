//! auth hook: validates a bearer token against config_data.tokens and
//! returns a session with rate, quota, metadata.token and an
//! id_extractor_deadline, so the gateway caches it (Tyk's ID extractor).
use wasmgate_kit::{run, Envelope, HookResult, Session};

#[no_mangle]
pub extern "C" fn auth_token() -> i32 {
    run(|env: &Envelope, out: &mut HookResult| {
        let header = env.request.header("authorization").unwrap_or("");
        let token = header.strip_prefix("Bearer ").unwrap_or(header);
        if token.is_empty() {
            out.respond_error(401, "missing credential");
            return;
        }
        let config = &env.spec.config_data;
        let tokens = config.get_map("tokens");
        let user = match tokens.get(token) {
            Some(v) => v.as_str().unwrap_or(""),
            None => {
                out.respond_error(403, "invalid token");
                return;
            }
        };
        let quota_max = config.get_i64("quota_max", -1);
        out.request.add_header("x-wasmgate-trace", "auth");
        out.set_session(
            Session::new()
                .rate(config.get_f64("rate", 100.0))
                .per(config.get_f64("per", 60.0))
                .quota_max(quota_max)
                .quota_remaining(quota_max)
                .quota_renewal_rate(3600)
                .metadata("token", token)
                .metadata("user", user)
                .id_extractor_deadline(env.metadata.time.wrapping_add(config.get_i64("cache_seconds", 60))),
        );
    })
}
