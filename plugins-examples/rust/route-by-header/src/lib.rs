//! pre hook for dynamic routing (docs/outbound.md): the value of the request
//! header config_data.header (default "x-region") picks an upstream from
//! config_data.routes (value → upstream_targets name); without a match,
//! config_data.default when set, else the API's own target. The chosen
//! target is also sent upstream as x-routed-to.
use wasmgate_kit::{run, Envelope, HookResult};

#[no_mangle]
pub extern "C" fn route_by_header() -> i32 {
    run(|env: &Envelope, out: &mut HookResult| {
        let config = &env.spec.config_data;
        let routes = config.get_map("routes");
        let mut target = config.get_str("default", "");
        if let Some(value) = env.request.header(config.get_str("header", "x-region")) {
            if routes.has(value) {
                target = routes.get_str(value, "");
            }
        }
        if !target.is_empty() {
            out.request.set_upstream(target);
            out.request.set_header("x-routed-to", target);
        }
    })
}
