//! endpoint hook that aggregates two services into one answer
//! (docs/outbound.md). First call: asks the gateway for GET users_url and
//! GET orders_url (config_data), which it makes in parallel. Called again
//! with both answers: 200 {"users":<users body>,"orders":<orders body>} when
//! both answered 200 (each body embedded as it came: the services answer
//! JSON), else 502 {"error":"<id> failed: <status N | error code>"} for the
//! first that failed.
use wasmgate_kit::{headers, json_escape, run, Envelope, HookResult};

const SERVICES: [&str; 2] = ["users", "orders"];

#[no_mangle]
pub extern "C" fn aggregate() -> i32 {
    run(|env: &Envelope, out: &mut HookResult| {
        let config = &env.spec.config_data;
        if !env.is_continuation() {
            for id in SERVICES.iter() {
                let url = config.get_str(&format!("{}_url", id), "");
                out.call(id, "GET", url).header("accept", "application/json");
            }
            return;
        }
        let mut body = b"{".to_vec();
        for (i, id) in SERVICES.iter().enumerate() {
            let answer = match env.answer(id) {
                Some(a) if a.ok() && a.status == 200 => a,
                other => {
                    let why = match other {
                        None => "no answer".to_string(),
                        Some(a) => match &a.error {
                            Some(code) => code.clone(),
                            None => format!("status {}", a.status),
                        },
                    };
                    out.respond_error(502, &format!("{} failed: {}", id, why));
                    return;
                }
            };
            if i > 0 {
                body.push(b',');
            }
            body.extend_from_slice(format!("\"{}\":", json_escape(id)).as_bytes());
            body.extend_from_slice(&answer.body);
        }
        body.push(b'}');
        out.respond(200, body, headers("content-type", "application/json"));
    })
}
