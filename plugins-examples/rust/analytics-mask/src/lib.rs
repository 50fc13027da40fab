//! analytics hook: masks the value of every Authorization header line in the
//! recorded raw request (base64) as "****". Nothing to mask → no changes.
use wasmgate_kit::{base64_decode, base64_encode, run, Envelope, HookResult};

const NAME: &[u8] = b"authorization";

/// True when `line` begins with "authorization:" in any case.
fn is_authorization_line(line: &[u8]) -> bool {
    line.len() > NAME.len() && line[..NAME.len()].eq_ignore_ascii_case(NAME) && line[NAME.len()] == b':'
}

/// The masked recording, or None when no header line needed masking.
pub fn mask(raw: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(raw.len() + 16);
    let mut changed = false;
    let mut start = 0;
    while start < raw.len() {
        // One line, up to its CRLF (or the end of the recording).
        let mut end = start;
        while end < raw.len() && !(raw[end] == b'\r' && end + 1 < raw.len() && raw[end + 1] == b'\n') {
            end += 1;
        }
        let next = if end < raw.len() { end + 2 } else { end };
        if end == start {
            // The blank line: the rest is the body, copied as is.
            out.extend_from_slice(&raw[start..]);
            break;
        }
        let line = &raw[start..end];
        if is_authorization_line(line) {
            out.extend_from_slice(&line[..NAME.len() + 1]);
            out.extend_from_slice(b" ****");
            changed = true;
        } else {
            out.extend_from_slice(line);
        }
        out.extend_from_slice(&raw[end..next]);
        start = next;
    }
    if changed {
        Some(out)
    } else {
        None
    }
}

#[no_mangle]
pub extern "C" fn analytics_mask() -> i32 {
    run(|env: &Envelope, out: &mut HookResult| {
        let encoded = env.record.as_ref().map(|r| r.get_str("raw_request", "")).unwrap_or("");
        if encoded.is_empty() {
            return;
        }
        let raw = match base64_decode(encoded) {
            Some(raw) => raw,
            None => return,
        };
        if let Some(masked) = mask(&raw) {
            out.record.set_str("raw_request", &base64_encode(&masked));
        }
    })
}
