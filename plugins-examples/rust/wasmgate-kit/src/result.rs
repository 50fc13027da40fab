//! The result record (docs/abi.md §5) and its canonical encoding (§6):
//! fixed key order, only the fields the plugin set, header values always as
//! arrays, user maps in insertion order.

use crate::msgpack::{Value, Writer};

/// Header (or parameter) values by name, in the order names were first set.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Headers(pub Vec<(String, Vec<String>)>);

impl Headers {
    pub fn new() -> Self {
        Headers(Vec::new())
    }
    /// Replaces every value of `name` (keeps its position when already set).
    pub fn set(&mut self, name: &str, value: &str) {
        self.set_values(name, vec![value.to_string()]);
    }
    pub fn set_values(&mut self, name: &str, values: Vec<String>) {
        match self.0.iter_mut().find(|(k, _)| k == name) {
            Some(slot) => slot.1 = values,
            None => self.0.push((name.to_string(), values)),
        }
    }
    /// Appends a value to `name`.
    pub fn add(&mut self, name: &str, value: &str) {
        match self.0.iter_mut().find(|(k, _)| k == name) {
            Some(slot) => slot.1.push(value.to_string()),
            None => self.0.push((name.to_string(), vec![value.to_string()])),
        }
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    fn write(&self, w: &mut Writer) {
        w.map_len(self.0.len());
        for (name, values) in &self.0 {
            w.str(name);
            w.str_array(values);
        }
    }
}

/// Changes to the request (pre, auth, post_auth, endpoint, post).
#[derive(Clone, Debug, Default)]
pub struct RequestChanges {
    pub set_headers: Headers,
    pub add_headers: Headers,
    pub delete_headers: Vec<String>,
    /// Replaces every value of a query parameter.
    pub add_params: Headers,
    pub delete_params: Vec<String>,
    pub body: Option<Vec<u8>>,
    pub url: Option<String>,
    /// The name of one of the API's `upstream_targets` (docs/outbound.md).
    pub upstream: Option<String>,
}

impl RequestChanges {
    pub fn set_header(&mut self, name: &str, value: &str) -> &mut Self {
        self.set_headers.set(name, value);
        self
    }
    pub fn add_header(&mut self, name: &str, value: &str) -> &mut Self {
        self.add_headers.add(name, value);
        self
    }
    pub fn delete_header(&mut self, name: &str) -> &mut Self {
        self.delete_headers.push(name.to_string());
        self
    }
    pub fn set_param(&mut self, name: &str, value: &str) -> &mut Self {
        self.add_params.set(name, value);
        self
    }
    pub fn delete_param(&mut self, name: &str) -> &mut Self {
        self.delete_params.push(name.to_string());
        self
    }
    pub fn set_body(&mut self, body: impl Into<Vec<u8>>) -> &mut Self {
        self.body = Some(body.into());
        self
    }
    pub fn set_url(&mut self, url: &str) -> &mut Self {
        self.url = Some(url.to_string());
        self
    }
    /// Routes this request to one of the API's `upstream_targets`, by name;
    /// a name the API does not list fails the request.
    pub fn set_upstream(&mut self, name: &str) -> &mut Self {
        self.upstream = Some(name.to_string());
        self
    }
    pub fn is_empty(&self) -> bool {
        self.set_headers.is_empty()
            && self.add_headers.is_empty()
            && self.delete_headers.is_empty()
            && self.add_params.is_empty()
            && self.delete_params.is_empty()
            && self.body.is_none()
            && self.url.is_none()
            && self.upstream.is_none()
    }
    fn write(&self, w: &mut Writer) {
        let n = [
            !self.set_headers.is_empty(),
            !self.add_headers.is_empty(),
            !self.delete_headers.is_empty(),
            !self.add_params.is_empty(),
            !self.delete_params.is_empty(),
            self.body.is_some(),
            self.url.is_some(),
            self.upstream.is_some(),
        ]
        .iter()
        .filter(|x| **x)
        .count();
        w.map_len(n);
        if !self.set_headers.is_empty() {
            w.str("set_headers");
            self.set_headers.write(w);
        }
        if !self.add_headers.is_empty() {
            w.str("add_headers");
            self.add_headers.write(w);
        }
        if !self.delete_headers.is_empty() {
            w.str("delete_headers");
            w.str_array(&self.delete_headers);
        }
        if !self.add_params.is_empty() {
            w.str("add_params");
            self.add_params.write(w);
        }
        if !self.delete_params.is_empty() {
            w.str("delete_params");
            w.str_array(&self.delete_params);
        }
        if let Some(body) = &self.body {
            w.str("body");
            w.bin(body);
        }
        if let Some(url) = &self.url {
            w.str("url");
            w.str(url);
        }
        if let Some(upstream) = &self.upstream {
            w.str("upstream");
            w.str(upstream);
        }
    }
}

/// An HTTP call for the gateway to make (docs/outbound.md). The calls of
/// one result run in parallel; their answers come back in the envelope of
/// the next call of the same export (`Envelope::answer`).
#[derive(Clone, Debug, Default)]
pub struct Call {
    /// Unique within one result: the key of its answer.
    pub id: String,
    pub method: String,
    pub url: String,
    pub headers: Headers,
    pub body: Option<Vec<u8>>,
    /// 0 = the API's `outbound.timeout_ms`; a shorter one wins.
    pub timeout_ms: u32,
}

impl Call {
    pub fn new(id: &str, method: &str, url: &str) -> Self {
        Call {
            id: id.to_string(),
            method: method.to_string(),
            url: url.to_string(),
            ..Call::default()
        }
    }
    /// Appends a request header value.
    pub fn header(&mut self, name: &str, value: &str) -> &mut Self {
        self.headers.add(name, value);
        self
    }
    pub fn set_body(&mut self, body: impl Into<Vec<u8>>) -> &mut Self {
        self.body = Some(body.into());
        self
    }
    /// This call's timeout in milliseconds; the API's `outbound.timeout_ms` still caps it.
    pub fn timeout(&mut self, ms: u32) -> &mut Self {
        self.timeout_ms = ms;
        self
    }
    fn write(&self, w: &mut Writer) {
        let n = 3 + !self.headers.is_empty() as usize + self.body.is_some() as usize + (self.timeout_ms > 0) as usize;
        w.map_len(n);
        w.str("id");
        w.str(&self.id);
        w.str("method");
        w.str(&self.method);
        w.str("url");
        w.str(&self.url);
        if !self.headers.is_empty() {
            w.str("headers");
            self.headers.write(w);
        }
        if let Some(b) = &self.body {
            w.str("body");
            w.bin(b);
        }
        if self.timeout_ms > 0 {
            w.str("timeout_ms");
            w.uint(self.timeout_ms as u64);
        }
    }
}

/// Ends the request at the gateway (Tyk's ReturnOverrides).
#[derive(Clone, Debug)]
pub struct ReturnOverrides {
    pub response_code: i64,
    pub response_error: Option<String>,
    pub response_body: Option<Vec<u8>>,
    pub headers: Headers,
    pub override_error: Option<bool>,
}

impl ReturnOverrides {
    pub fn new(response_code: i64) -> Self {
        ReturnOverrides {
            response_code,
            response_error: None,
            response_body: None,
            headers: Headers::new(),
            override_error: None,
        }
    }
    fn write(&self, w: &mut Writer) {
        let n = 1
            + self.response_error.is_some() as usize
            + self.response_body.is_some() as usize
            + !self.headers.is_empty() as usize
            + self.override_error.is_some() as usize;
        w.map_len(n);
        w.str("response_code");
        w.int(self.response_code);
        if let Some(e) = &self.response_error {
            w.str("response_error");
            w.str(e);
        }
        if let Some(b) = &self.response_body {
            w.str("response_body");
            w.bin(b);
        }
        if !self.headers.is_empty() {
            w.str("headers");
            self.headers.write(w);
        }
        if let Some(o) = self.override_error {
            w.str("override_error");
            w.bool(o);
        }
    }
}

/// One `allowed_urls` entry of an access definition.
#[derive(Clone, Debug, Default)]
pub struct AllowedUrl {
    pub url: String,
    pub methods: Vec<String>,
}

/// One `access_rights` entry (key = api_id).
#[derive(Clone, Debug, Default)]
pub struct AccessDefinition {
    pub api_id: String,
    pub api_name: Option<String>,
    pub versions: Option<Vec<String>>,
    pub allowed_urls: Option<Vec<AllowedUrl>>,
}

impl AccessDefinition {
    fn write(&self, w: &mut Writer) {
        let n = 1
            + self.api_name.is_some() as usize
            + self.versions.is_some() as usize
            + self.allowed_urls.is_some() as usize;
        w.map_len(n);
        w.str("api_id");
        w.str(&self.api_id);
        if let Some(name) = &self.api_name {
            w.str("api_name");
            w.str(name);
        }
        if let Some(v) = &self.versions {
            w.str("versions");
            w.str_array(v);
        }
        if let Some(urls) = &self.allowed_urls {
            w.str("allowed_urls");
            w.array_len(urls.len());
            for u in urls {
                w.map_len(2);
                w.str("url");
                w.str(&u.url);
                w.str("methods");
                w.str_array(&u.methods);
            }
        }
    }
}

/// A session for the auth hook to return (Tyk's SessionState). Only the
/// fields set are written, always in the order of docs/abi.md §4.
#[derive(Clone, Debug, Default)]
pub struct Session {
    pub rate: Option<f64>,
    pub per: Option<f64>,
    pub allowance: Option<f64>,
    pub quota_max: Option<i64>,
    pub quota_remaining: Option<i64>,
    pub quota_renews: Option<i64>,
    pub quota_renewal_rate: Option<i64>,
    pub access_rights: Option<Vec<(String, AccessDefinition)>>,
    pub apply_policies: Option<Vec<String>>,
    pub metadata: Option<Vec<(String, String)>>,
    pub tags: Option<Vec<String>>,
    pub expires: Option<i64>,
    pub id_extractor_deadline: Option<i64>,
    pub last_updated: Option<String>,
    pub alias: Option<String>,
    pub org_id: Option<String>,
}

impl Session {
    pub fn new() -> Self {
        Session::default()
    }
    pub fn rate(mut self, v: f64) -> Self {
        self.rate = Some(v);
        self
    }
    pub fn per(mut self, v: f64) -> Self {
        self.per = Some(v);
        self
    }
    pub fn allowance(mut self, v: f64) -> Self {
        self.allowance = Some(v);
        self
    }
    pub fn quota_max(mut self, v: i64) -> Self {
        self.quota_max = Some(v);
        self
    }
    pub fn quota_remaining(mut self, v: i64) -> Self {
        self.quota_remaining = Some(v);
        self
    }
    pub fn quota_renews(mut self, v: i64) -> Self {
        self.quota_renews = Some(v);
        self
    }
    pub fn quota_renewal_rate(mut self, v: i64) -> Self {
        self.quota_renewal_rate = Some(v);
        self
    }
    /// Access to one API (all versions and paths).
    pub fn allow_api(mut self, api_id: &str, api_name: &str) -> Self {
        let def = AccessDefinition {
            api_id: api_id.to_string(),
            api_name: if api_name.is_empty() { None } else { Some(api_name.to_string()) },
            ..AccessDefinition::default()
        };
        let rights = self.access_rights.get_or_insert_with(Vec::new);
        match rights.iter_mut().find(|(k, _)| k == api_id) {
            Some(slot) => slot.1 = def,
            None => rights.push((api_id.to_string(), def)),
        }
        self
    }
    pub fn apply_policy(mut self, id: &str) -> Self {
        self.apply_policies.get_or_insert_with(Vec::new).push(id.to_string());
        self
    }
    /// Sets `metadata[key]` (insertion order is kept; a second set replaces in place).
    pub fn metadata(mut self, key: &str, value: &str) -> Self {
        let m = self.metadata.get_or_insert_with(Vec::new);
        match m.iter_mut().find(|(k, _)| k == key) {
            Some(slot) => slot.1 = value.to_string(),
            None => m.push((key.to_string(), value.to_string())),
        }
        self
    }
    pub fn tag(mut self, t: &str) -> Self {
        self.tags.get_or_insert_with(Vec::new).push(t.to_string());
        self
    }
    pub fn expires(mut self, unix_seconds: i64) -> Self {
        self.expires = Some(unix_seconds);
        self
    }
    /// Until this time (unix seconds) the gateway reuses the session without calling the plugin.
    pub fn id_extractor_deadline(mut self, unix_seconds: i64) -> Self {
        self.id_extractor_deadline = Some(unix_seconds);
        self
    }
    pub fn last_updated(mut self, v: &str) -> Self {
        self.last_updated = Some(v.to_string());
        self
    }
    pub fn alias(mut self, v: &str) -> Self {
        self.alias = Some(v.to_string());
        self
    }
    pub fn org_id(mut self, v: &str) -> Self {
        self.org_id = Some(v.to_string());
        self
    }

    fn write(&self, w: &mut Writer) {
        let n = [
            self.rate.is_some(),
            self.per.is_some(),
            self.allowance.is_some(),
            self.quota_max.is_some(),
            self.quota_remaining.is_some(),
            self.quota_renews.is_some(),
            self.quota_renewal_rate.is_some(),
            self.access_rights.is_some(),
            self.apply_policies.is_some(),
            self.metadata.is_some(),
            self.tags.is_some(),
            self.expires.is_some(),
            self.id_extractor_deadline.is_some(),
            self.last_updated.is_some(),
            self.alias.is_some(),
            self.org_id.is_some(),
        ]
        .iter()
        .filter(|x| **x)
        .count();
        w.map_len(n);
        let float = |w: &mut Writer, k: &str, v: Option<f64>| {
            if let Some(v) = v {
                w.str(k);
                w.f64(v);
            }
        };
        let int = |w: &mut Writer, k: &str, v: Option<i64>| {
            if let Some(v) = v {
                w.str(k);
                w.int(v);
            }
        };
        let text = |w: &mut Writer, k: &str, v: &Option<String>| {
            if let Some(v) = v {
                w.str(k);
                w.str(v);
            }
        };
        float(w, "rate", self.rate);
        float(w, "per", self.per);
        float(w, "allowance", self.allowance);
        int(w, "quota_max", self.quota_max);
        int(w, "quota_remaining", self.quota_remaining);
        int(w, "quota_renews", self.quota_renews);
        int(w, "quota_renewal_rate", self.quota_renewal_rate);
        if let Some(rights) = &self.access_rights {
            w.str("access_rights");
            w.map_len(rights.len());
            for (k, def) in rights {
                w.str(k);
                def.write(w);
            }
        }
        if let Some(p) = &self.apply_policies {
            w.str("apply_policies");
            w.str_array(p);
        }
        if let Some(m) = &self.metadata {
            w.str("metadata");
            w.map_len(m.len());
            for (k, v) in m {
                w.str(k);
                w.str(v);
            }
        }
        if let Some(t) = &self.tags {
            w.str("tags");
            w.str_array(t);
        }
        int(w, "expires", self.expires);
        int(w, "id_extractor_deadline", self.id_extractor_deadline);
        text(w, "last_updated", &self.last_updated);
        text(w, "alias", &self.alias);
        text(w, "org_id", &self.org_id);
    }
}

/// Changes to the upstream response (response hook).
#[derive(Clone, Debug, Default)]
pub struct ResponseChanges {
    /// 0 = unchanged.
    pub status_code: i64,
    pub set_headers: Headers,
    pub add_headers: Headers,
    pub delete_headers: Vec<String>,
    pub body: Option<Vec<u8>>,
}

impl ResponseChanges {
    pub fn set_status(&mut self, code: i64) -> &mut Self {
        self.status_code = code;
        self
    }
    pub fn set_header(&mut self, name: &str, value: &str) -> &mut Self {
        self.set_headers.set(name, value);
        self
    }
    pub fn add_header(&mut self, name: &str, value: &str) -> &mut Self {
        self.add_headers.add(name, value);
        self
    }
    pub fn delete_header(&mut self, name: &str) -> &mut Self {
        self.delete_headers.push(name.to_string());
        self
    }
    pub fn set_body(&mut self, body: impl Into<Vec<u8>>) -> &mut Self {
        self.body = Some(body.into());
        self
    }
    pub fn is_empty(&self) -> bool {
        self.status_code == 0
            && self.set_headers.is_empty()
            && self.add_headers.is_empty()
            && self.delete_headers.is_empty()
            && self.body.is_none()
    }
    fn write(&self, w: &mut Writer) {
        let n = (self.status_code != 0) as usize
            + !self.set_headers.is_empty() as usize
            + !self.add_headers.is_empty() as usize
            + !self.delete_headers.is_empty() as usize
            + self.body.is_some() as usize;
        w.map_len(n);
        if self.status_code != 0 {
            w.str("status_code");
            w.int(self.status_code);
        }
        if !self.set_headers.is_empty() {
            w.str("set_headers");
            self.set_headers.write(w);
        }
        if !self.add_headers.is_empty() {
            w.str("add_headers");
            self.add_headers.write(w);
        }
        if !self.delete_headers.is_empty() {
            w.str("delete_headers");
            w.str_array(&self.delete_headers);
        }
        if let Some(b) = &self.body {
            w.str("body");
            w.bin(b);
        }
    }
}

/// Changes to the analytics record (analytics hook).
#[derive(Clone, Debug, Default)]
pub struct RecordChanges {
    /// Fields to rewrite, in the order set.
    pub set: Vec<(String, Value)>,
    pub drop_fields: Vec<String>,
    pub drop: bool,
}

impl RecordChanges {
    pub fn set(&mut self, field: &str, value: Value) -> &mut Self {
        match self.set.iter_mut().find(|(k, _)| k == field) {
            Some(slot) => slot.1 = value,
            None => self.set.push((field.to_string(), value)),
        }
        self
    }
    pub fn set_str(&mut self, field: &str, value: &str) -> &mut Self {
        self.set(field, Value::Str(value.to_string()))
    }
    pub fn drop_field(&mut self, field: &str) -> &mut Self {
        self.drop_fields.push(field.to_string());
        self
    }
    pub fn drop_record(&mut self) -> &mut Self {
        self.drop = true;
        self
    }
    pub fn is_empty(&self) -> bool {
        self.set.is_empty() && self.drop_fields.is_empty() && !self.drop
    }
    fn write(&self, w: &mut Writer) {
        let n = !self.set.is_empty() as usize + !self.drop_fields.is_empty() as usize + self.drop as usize;
        w.map_len(n);
        if !self.set.is_empty() {
            w.str("set");
            w.map_len(self.set.len());
            for (k, v) in &self.set {
                w.str(k);
                w.value(v);
            }
        }
        if !self.drop_fields.is_empty() {
            w.str("drop_fields");
            w.str_array(&self.drop_fields);
        }
        if self.drop {
            w.str("drop");
            w.bool(true);
        }
    }
}

/// Everything a hook call answers. Empty = zero bytes of output ("continue, change nothing").
#[derive(Clone, Debug, Default)]
pub struct HookResult {
    pub request: RequestChanges,
    pub return_overrides: Option<ReturnOverrides>,
    pub session: Option<Session>,
    pub response: ResponseChanges,
    pub record: RecordChanges,
    /// The plugin failed on purpose; when set, nothing else is written.
    pub error: Option<String>,
    /// A continuation: when not empty, only these and `state` are written.
    pub calls: Vec<Call>,
    /// Handed back with the answers (at most 64 KiB); written only with calls.
    pub state: Option<Vec<u8>>,
}

impl HookResult {
    /// Ends the request with `code` and `{"error": message}` (Tyk's ReturnOverrides).
    pub fn respond_error(&mut self, code: i64, message: &str) {
        let mut o = ReturnOverrides::new(code);
        o.response_error = Some(message.to_string());
        self.return_overrides = Some(o);
    }
    /// Ends the request with `code`, `body` and `headers`.
    pub fn respond(&mut self, code: i64, body: impl Into<Vec<u8>>, headers: Headers) {
        let mut o = ReturnOverrides::new(code);
        o.response_body = Some(body.into());
        o.headers = headers;
        self.return_overrides = Some(o);
    }
    pub fn set_session(&mut self, s: Session) {
        self.session = Some(s);
    }
    pub fn fail(&mut self, message: &str) {
        self.error = Some(message.to_string());
    }
    /// Asks the gateway to make an HTTP call, then to call this export again
    /// with the answer (`Envelope::answer(id)`). A result with calls carries
    /// nothing else: changes belong in the call that has the answers.
    /// Hooks: pre, auth, post_auth, endpoint, post.
    pub fn call(&mut self, id: &str, method: &str, url: &str) -> &mut Call {
        self.calls.push(Call::new(id, method, url));
        let last = self.calls.len() - 1;
        &mut self.calls[last]
    }
    /// Bytes the gateway hands back with the answers (`Envelope::state`): the
    /// instance is released between rounds, so memory does not carry over.
    pub fn set_state(&mut self, state: impl Into<Vec<u8>>) {
        self.state = Some(state.into());
    }

    /// The canonical bytes; empty when nothing was set.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        if let Some(e) = &self.error {
            w.map_len(1);
            w.str("error");
            w.str(e);
            return w.buf;
        }
        if !self.calls.is_empty() {
            w.map_len(1 + self.state.is_some() as usize);
            w.str("calls");
            w.array_len(self.calls.len());
            for c in &self.calls {
                c.write(&mut w);
            }
            if let Some(s) = &self.state {
                w.str("state");
                w.bin(s);
            }
            return w.buf;
        }
        let has_request = !self.request.is_empty();
        let has_response = !self.response.is_empty();
        let has_record = !self.record.is_empty();
        let n = has_request as usize
            + self.return_overrides.is_some() as usize
            + self.session.is_some() as usize
            + has_response as usize
            + has_record as usize;
        if n == 0 {
            return Vec::new();
        }
        w.map_len(n);
        if has_request {
            w.str("request");
            self.request.write(&mut w);
        }
        if let Some(o) = &self.return_overrides {
            w.str("return_overrides");
            o.write(&mut w);
        }
        if let Some(s) = &self.session {
            w.str("session");
            s.write(&mut w);
        }
        if has_response {
            w.str("response");
            self.response.write(&mut w);
        }
        if has_record {
            w.str("record");
            self.record.write(&mut w);
        }
        w.buf
    }
}
