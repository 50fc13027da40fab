//! The envelope (docs/abi.md §4), decoded into typed records. Unknown keys
//! are skipped, so new optional fields never break a plugin.

use crate::msgpack::{Decoded, Reader, Value};

/// The envelope version this kit reads (docs/abi.md §7).
pub const ABI_VERSION: i64 = 1;

/// Header or parameter values by name, in the order they were sent.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Multi(pub Vec<(String, Vec<String>)>);

impl Multi {
    /// Every value of `name` (exact name; header names are lower-case).
    pub fn values(&self, name: &str) -> &[String] {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_slice()).unwrap_or(&[])
    }
    /// The first value of `name`, if any.
    pub fn first(&self, name: &str) -> Option<&str> {
        self.values(name).first().map(|s| s.as_str())
    }
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[String])> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_slice()))
    }

    fn read(r: &mut Reader) -> Decoded<Multi> {
        let mut out = Multi::default();
        if r.nil() {
            return Ok(out);
        }
        let n = r.map_len()?;
        out.0.reserve(n.min(256));
        for _ in 0..n {
            let name = r.string()?;
            let mut values = Vec::new();
            match r.peek() {
                Some(0x90..=0x9f) | Some(0xdc) | Some(0xdd) => {
                    let m = r.array_len()?;
                    for _ in 0..m {
                        values.push(r.string_or_empty()?);
                    }
                }
                Some(0xc0) => {
                    r.nil();
                }
                _ => values.push(r.string_or_empty()?),
            }
            out.0.push((name, values));
        }
        Ok(out)
    }
}

/// Tyk's MiniRequestObject.
#[derive(Clone, Debug, Default)]
pub struct Request {
    pub method: String,
    pub url: String,
    pub request_uri: String,
    pub scheme: String,
    pub host: String,
    pub remote_addr: String,
    pub params: Multi,
    pub headers: Multi,
    /// Only when the plugin entry declared `needs_body`.
    pub body: Option<Vec<u8>>,
}

impl Request {
    /// The first value of a header (name in any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.first(&name.to_ascii_lowercase())
    }
    /// The first value of a query parameter.
    pub fn query(&self, name: &str) -> Option<&str> {
        self.params.first(name)
    }

    fn read(r: &mut Reader) -> Decoded<Request> {
        let mut q = Request::default();
        if r.nil() {
            return Ok(q);
        }
        let n = r.map_len()?;
        for _ in 0..n {
            match r.str_bytes()? {
                b"method" => q.method = r.string_or_empty()?,
                b"url" => q.url = r.string_or_empty()?,
                b"request_uri" => q.request_uri = r.string_or_empty()?,
                b"scheme" => q.scheme = r.string_or_empty()?,
                b"host" => q.host = r.string_or_empty()?,
                b"remote_addr" => q.remote_addr = r.string_or_empty()?,
                b"params" => q.params = Multi::read(r)?,
                b"headers" => q.headers = Multi::read(r)?,
                b"body" => q.body = r.bytes_or_nil()?,
                _ => r.skip()?,
            }
        }
        Ok(q)
    }
}

/// Tyk's ResponseObject (response hook).
#[derive(Clone, Debug, Default)]
pub struct Response {
    pub status_code: i64,
    pub headers: Multi,
    pub body: Option<Vec<u8>>,
}

impl Response {
    /// The first value of a header (name in any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.first(&name.to_ascii_lowercase())
    }

    fn read(r: &mut Reader) -> Decoded<Response> {
        let mut s = Response::default();
        let n = r.map_len()?;
        for _ in 0..n {
            match r.str_bytes()? {
                b"status_code" => s.status_code = r.int()?,
                b"headers" => s.headers = Multi::read(r)?,
                b"body" => s.body = r.bytes_or_nil()?,
                _ => r.skip()?,
            }
        }
        Ok(s)
    }
}

/// A map of values read by key with a fallback: `spec.config_data`, the
/// session, the analytics record.
#[derive(Clone, Debug, PartialEq)]
pub struct Fields(pub Value);

impl Default for Fields {
    fn default() -> Self {
        Fields(Value::Map(Vec::new()))
    }
}

impl Fields {
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.0.get(key)
    }
    pub fn has(&self, key: &str) -> bool {
        self.get(key).is_some()
    }
    /// A string value, or `fallback` when absent or not a string.
    pub fn get_str<'a>(&'a self, key: &str, fallback: &'a str) -> &'a str {
        self.get(key).and_then(|v| v.as_str()).unwrap_or(fallback)
    }
    /// A number as f64, or `fallback` when absent or not a number.
    pub fn get_f64(&self, key: &str, fallback: f64) -> f64 {
        self.get(key).and_then(|v| v.as_f64()).unwrap_or(fallback)
    }
    /// A number as i64 (floats truncated), or `fallback` when absent or not a number.
    pub fn get_i64(&self, key: &str, fallback: i64) -> i64 {
        self.get(key).and_then(|v| v.as_i64()).unwrap_or(fallback)
    }
    pub fn get_bool(&self, key: &str, fallback: bool) -> bool {
        self.get(key).and_then(|v| v.as_bool()).unwrap_or(fallback)
    }
    /// A nested map (empty when absent or not a map).
    pub fn get_map(&self, key: &str) -> Fields {
        match self.get(key) {
            Some(v) if v.is_map() => Fields(v.clone()),
            _ => Fields::default(),
        }
    }
    /// The string keys and values, in order.
    pub fn entries(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.0.entries()
    }
}

/// `spec`: the API the call belongs to.
#[derive(Clone, Debug, Default)]
pub struct Spec {
    pub api_id: String,
    pub org_id: String,
    pub name: String,
    /// The API's `config_data`.
    pub config_data: Fields,
}

impl Spec {
    fn read(r: &mut Reader) -> Decoded<Spec> {
        let mut s = Spec::default();
        if r.nil() {
            return Ok(s);
        }
        let n = r.map_len()?;
        for _ in 0..n {
            match r.str_bytes()? {
                b"api_id" => s.api_id = r.string_or_empty()?,
                b"org_id" => s.org_id = r.string_or_empty()?,
                b"name" => s.name = r.string_or_empty()?,
                b"config_data" => {
                    let v = r.value()?;
                    if v.is_map() {
                        s.config_data = Fields(v);
                    }
                }
                _ => r.skip()?,
            }
        }
        Ok(s)
    }
}

/// `metadata`: the call's request id, plugin name and version, and the gateway's clock.
#[derive(Clone, Debug, Default)]
pub struct Metadata {
    pub request_id: String,
    pub plugin: String,
    pub version: String,
    /// Unix seconds at the start of the request.
    pub time: i64,
}

impl Metadata {
    fn read(r: &mut Reader) -> Decoded<Metadata> {
        let mut m = Metadata::default();
        if r.nil() {
            return Ok(m);
        }
        let n = r.map_len()?;
        for _ in 0..n {
            match r.str_bytes()? {
                b"request_id" => m.request_id = r.string_or_empty()?,
                b"plugin" => m.plugin = r.string_or_empty()?,
                b"version" => m.version = r.string_or_empty()?,
                b"time" => m.time = r.int()?,
                _ => r.skip()?,
            }
        }
        Ok(m)
    }
}

/// The answer to one outbound call (docs/outbound.md): the service's
/// response, or the gateway's reason for not having one.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CallAnswer {
    pub status: i64,
    pub headers: Multi,
    pub body: Vec<u8>,
    /// `ORIGIN_NOT_ALLOWED`, `ADDRESS_REFUSED`, `TIMEOUT`, `TOO_LARGE`,
    /// `BAD_URL` or `FAILED`; None when the service answered.
    pub error: Option<String>,
    pub message: String,
}

impl CallAnswer {
    /// True when the service answered (whatever its status).
    pub fn ok(&self) -> bool {
        self.error.is_none()
    }
    /// The body as text (invalid UTF-8 replaced).
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    /// The first value of a response header (name in any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.first(&name.to_ascii_lowercase())
    }

    fn read(r: &mut Reader) -> Decoded<CallAnswer> {
        let mut a = CallAnswer::default();
        let n = r.map_len()?;
        for _ in 0..n {
            match r.str_bytes()? {
                b"status" => a.status = r.int()?,
                b"headers" => a.headers = Multi::read(r)?,
                b"body" => a.body = r.bytes_or_nil()?.unwrap_or_default(),
                b"error" => a.error = Some(r.string_or_empty()?),
                b"message" => a.message = r.string_or_empty()?,
                _ => r.skip()?,
            }
        }
        Ok(a)
    }
}

/// The answers of a continuation, by call id, in the order the gateway sent them.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Answers(pub Vec<(String, CallAnswer)>);

impl Answers {
    pub fn get(&self, id: &str) -> Option<&CallAnswer> {
        self.0.iter().find(|(k, _)| k == id).map(|(_, a)| a)
    }
    pub fn iter(&self) -> impl Iterator<Item = (&str, &CallAnswer)> {
        self.0.iter().map(|(k, a)| (k.as_str(), a))
    }

    fn read(r: &mut Reader) -> Decoded<Answers> {
        let n = r.map_len()?;
        let mut out = Vec::with_capacity(n.min(64));
        for _ in 0..n {
            let id = r.string()?;
            out.push((id, CallAnswer::read(r)?));
        }
        Ok(Answers(out))
    }
}

/// One call's envelope.
#[derive(Clone, Debug, Default)]
pub struct Envelope {
    pub v: i64,
    pub hook: String,
    pub request: Request,
    /// The session (post_auth, post, response, analytics …); None when absent or nil.
    pub session: Option<Fields>,
    /// Response hook only.
    pub response: Option<Response>,
    /// Analytics hook only: the record, field by field.
    pub record: Option<Fields>,
    pub spec: Spec,
    pub metadata: Metadata,
    /// A continuation only: the answers to the calls the plugin asked for.
    pub responses: Option<Answers>,
    /// A continuation only: the state the plugin returned with its calls.
    pub state: Option<Vec<u8>>,
}

impl Envelope {
    /// Decodes an envelope. A `v` other than 1 is not an error here: see `check_version`.
    pub fn decode(input: &[u8]) -> Decoded<Envelope> {
        let mut r = Reader::new(input);
        let mut env = Envelope::default();
        let n = r.map_len()?;
        for _ in 0..n {
            match r.str_bytes()? {
                b"v" => env.v = r.int()?,
                b"hook" => env.hook = r.string_or_empty()?,
                b"request" => env.request = Request::read(&mut r)?,
                b"session" => {
                    let v = r.value()?;
                    env.session = if v.is_map() { Some(Fields(v)) } else { None };
                }
                b"response" => {
                    env.response = if r.nil() { None } else { Some(Response::read(&mut r)?) };
                }
                b"record" => {
                    let v = r.value()?;
                    env.record = if v.is_map() { Some(Fields(v)) } else { None };
                }
                b"spec" => env.spec = Spec::read(&mut r)?,
                b"metadata" => env.metadata = Metadata::read(&mut r)?,
                b"responses" => {
                    env.responses = if r.nil() { None } else { Some(Answers::read(&mut r)?) };
                }
                b"state" => env.state = r.bytes_or_nil()?,
                _ => r.skip()?,
            }
        }
        Ok(env)
    }

    /// True when this call carries the answers to calls the plugin asked for.
    pub fn is_continuation(&self) -> bool {
        self.responses.is_some()
    }

    /// The answer to the call with this id; None on a first call or for an unknown id.
    pub fn answer(&self, id: &str) -> Option<&CallAnswer> {
        self.responses.as_ref()?.get(id)
    }

    /// The session's `metadata[key]` as a string, if present.
    pub fn session_metadata(&self, key: &str) -> Option<&str> {
        self.session.as_ref()?.get("metadata")?.get(key)?.as_str()
    }
}
