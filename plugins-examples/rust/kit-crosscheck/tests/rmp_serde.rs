//! The kit's msgpack reader and canonical writer (docs/abi.md §6) against
//! rmp-serde, an independent implementation: the same bytes for the same
//! values (integer widths, float64, str vs bin, nested maps in order), each
//! side reading what the other wrote, and typed envelopes and results
//! written with serde derive matching what the kit reads and writes —
//! continuations (answers and state in, calls and state out) included.

use serde::{Deserialize, Serialize};
use wasmgate_kit::{handle, Envelope, HookResult, Reader, Session, Value, Writer};
use wasmgate_kit_crosscheck::{Bytes, Canon, Ordered};

fn kit_bytes(v: &Value) -> Vec<u8> {
    let mut w = Writer::new();
    w.value(v);
    w.buf
}

fn kit_read(bytes: &[u8]) -> Value {
    let mut r = Reader::new(bytes);
    let v = r.value().expect("the kit reads what rmp-serde wrote");
    assert_eq!(r.pos, bytes.len(), "the kit consumed the whole value");
    v
}

fn rmp_read(bytes: &[u8]) -> Value {
    rmp_serde::from_slice::<Canon>(bytes)
        .expect("rmp-serde reads what the kit wrote")
        .0
}

fn s(t: &str) -> Value {
    Value::Str(t.to_string())
}

fn map(pairs: Vec<(&str, Value)>) -> Value {
    Value::Map(pairs.into_iter().map(|(k, v)| (s(k), v)).collect())
}

/// Writes `v` with both, checks the bytes are equal and each side reads the other's.
fn same_both_ways(v: &Value) -> Vec<u8> {
    let ours = kit_bytes(v);
    let theirs = rmp_serde::to_vec(&Canon(v.clone())).unwrap();
    assert_eq!(ours, theirs, "kit and rmp-serde bytes differ for {:?}", v);
    assert_eq!(&rmp_read(&ours), v);
    assert_eq!(&kit_read(&theirs), v);
    ours
}

const SIGNED: [i64; 24] = [
    0,
    1,
    127,
    128,
    255,
    256,
    65535,
    65536,
    4294967295,
    4294967296,
    i64::MAX,
    -1,
    -32,
    -33,
    -128,
    -129,
    -32768,
    -32769,
    -2147483648,
    -2147483649,
    i64::MIN,
    1_700_000_060,
    -1_700_000_060,
    3600,
];

#[test]
fn integers_are_written_in_the_shortest_form_rmp_uses() {
    for &i in SIGNED.iter() {
        let mut w = Writer::new();
        w.int(i);
        assert_eq!(w.buf, rmp_serde::to_vec(&i).unwrap(), "int {}", i);
        assert_eq!(rmp_serde::from_slice::<i64>(&w.buf).unwrap(), i);
        same_both_ways(&Value::Int(i));
    }
    let widths: [(i64, usize); 9] = [
        (127, 1),
        (128, 2),
        (255, 2),
        (256, 3),
        (65536, 5),
        (4294967296, 9),
        (-32, 1),
        (-33, 2),
        (i64::MIN, 9),
    ];
    for &(i, len) in widths.iter() {
        let mut w = Writer::new();
        w.int(i);
        assert_eq!(w.buf.len(), len, "width of {}", i);
    }
    for &u in [0u64, 127, 128, 65535, 4294967296, i64::MAX as u64 + 1, u64::MAX].iter() {
        let mut w = Writer::new();
        w.uint(u);
        assert_eq!(w.buf, rmp_serde::to_vec(&u).unwrap(), "uint {}", u);
        assert_eq!(rmp_serde::from_slice::<u64>(&w.buf).unwrap(), u);
    }
    same_both_ways(&Value::UInt(u64::MAX));
}

#[test]
fn narrow_integer_types_from_rmp_serde_read_back_as_the_same_numbers() {
    assert_eq!(kit_read(&rmp_serde::to_vec(&-5i8).unwrap()), Value::Int(-5));
    assert_eq!(kit_read(&rmp_serde::to_vec(&-300i16).unwrap()), Value::Int(-300));
    assert_eq!(kit_read(&rmp_serde::to_vec(&40000u16).unwrap()), Value::Int(40000));
    assert_eq!(kit_read(&rmp_serde::to_vec(&-70000i32).unwrap()), Value::Int(-70000));
    assert_eq!(
        kit_read(&rmp_serde::to_vec(&3_000_000_000u32).unwrap()),
        Value::Int(3_000_000_000)
    );
    // A reader asked for an integer takes any number (the TypeScript kit's rule).
    let mut r = Reader::new(&[0xcb, 0x40, 0x4e, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00]);
    assert_eq!(r.int().unwrap(), 60);
}

#[test]
fn floats_are_always_float64_and_float32_is_widened() {
    for &f in [0.0f64, 1.5, -2.25, 100.0, 60.0, 1e300, f64::MIN_POSITIVE].iter() {
        let ours = same_both_ways(&Value::F64(f));
        assert_eq!(ours[0], 0xcb);
        assert_eq!(ours.len(), 9);
    }
    let f32_bytes = rmp_serde::to_vec(&0.5f32).unwrap();
    assert_eq!(f32_bytes[0], 0xca);
    assert_eq!(kit_read(&f32_bytes), Value::F64(0.5));
}

#[test]
fn strings_are_str_and_bodies_are_bin_at_every_length_boundary() {
    for &n in [0usize, 1, 31, 32, 255, 256, 65535, 65536].iter() {
        let text: String = "é".repeat(n / 2) + &"x".repeat(n % 2);
        assert_eq!(text.len(), n);
        let str_bytes = same_both_ways(&Value::Str(text.clone()));
        let expected_tag = match n {
            0..=31 => 0xa0 | n as u8,
            32..=255 => 0xd9,
            256..=65535 => 0xda,
            _ => 0xdb,
        };
        assert_eq!(str_bytes[0], expected_tag, "str of {} bytes", n);
        assert_eq!(rmp_serde::from_slice::<String>(&str_bytes).unwrap(), text);

        let body = vec![0xffu8; n];
        let bin_bytes = same_both_ways(&Value::Bin(body.clone()));
        assert_eq!(bin_bytes, rmp_serde::to_vec(&Bytes(body.clone())).unwrap());
        let expected_tag = match n {
            0..=255 => 0xc4,
            256..=65535 => 0xc5,
            _ => 0xc6,
        };
        assert_eq!(bin_bytes[0], expected_tag, "bin of {} bytes", n);
        assert_eq!(rmp_serde::from_slice::<Bytes>(&bin_bytes).unwrap(), Bytes(body));
    }
    // The same text as str and as bin stays two different kinds on both sides.
    let both = Value::Array(vec![s("abc"), Value::Bin(b"abc".to_vec())]);
    let bytes = same_both_ways(&both);
    assert_eq!(bytes, [0x92, 0xa3, b'a', b'b', b'c', 0xc4, 3, b'a', b'b', b'c']);
}

#[test]
fn nested_maps_and_arrays_keep_their_order_and_kinds() {
    let many: Vec<(Value, Value)> = (0..20)
        .rev()
        .map(|i| (Value::Str(format!("k{}", i)), Value::Int(i * 1000)))
        .collect();
    let v = map(vec![
        ("z", Value::Int(1)),
        (
            "a",
            map(vec![
                ("m", Value::Nil),
                ("b", Value::Bool(true)),
                ("a", Value::Bool(false)),
            ]),
        ),
        (
            "headers",
            map(vec![
                ("set-cookie", Value::Array(vec![s("a=1"), s("b=2")])),
                ("x-b", Value::Array(vec![])),
            ]),
        ),
        ("body", Value::Bin(vec![0, 1, 2, 0xc0])),
        ("map16", Value::Map(many)),
        ("array16", Value::Array((0..17).map(|i| Value::Int(-i)).collect())),
        ("rate", Value::F64(100.0)),
        (
            "deep",
            (0..30).fold(s("leaf"), |acc, i| {
                map(vec![(if i % 2 == 0 { "x" } else { "y" }, Value::Array(vec![acc]))])
            }),
        ),
    ]);
    let bytes = same_both_ways(&v);
    assert_eq!(bytes[0], 0x88, "a fixmap of 8 pairs, in insertion order");
    // map16 / array16 headers where the counts pass 15.
    assert!(bytes.windows(3).any(|w| w == [0xde, 0x00, 20]));
    assert!(bytes.windows(3).any(|w| w == [0xdc, 0x00, 17]));

    // Deeper than 64 levels the kit refuses (a hostile envelope cannot overflow its stack).
    let too_deep = (0..70).fold(Value::Nil, |acc, _| Value::Array(vec![acc]));
    let bytes = rmp_serde::to_vec(&Canon(too_deep.clone())).unwrap();
    assert_eq!(kit_bytes(&too_deep), bytes);
    assert_eq!(rmp_read(&bytes), too_deep);
    assert_eq!(Reader::new(&bytes).value().unwrap_err().0, "nesting too deep");
}

#[test]
fn truncated_input_is_an_error_for_both_never_a_panic() {
    let v = map(vec![
        ("s", s("a string longer than thirty-one bytes")),
        ("b", Value::Bin(vec![7; 300])),
        (
            "n",
            Value::Array(vec![Value::Int(-40000), Value::F64(0.5), Value::UInt(u64::MAX)]),
        ),
    ]);
    let bytes = kit_bytes(&v);
    for end in 0..bytes.len() {
        let cut = &bytes[..end];
        assert!(
            Reader::new(cut).value().is_err(),
            "kit accepted {} of {} bytes",
            end,
            bytes.len()
        );
        assert!(Reader::new(cut).skip().is_err());
        assert!(rmp_serde::from_slice::<Canon>(cut).is_err());
    }
}

// A typed envelope as a host written with serde derive would send it (docs/abi.md §4).
#[derive(Serialize)]
struct TypedRequest {
    method: String,
    url: String,
    request_uri: String,
    scheme: String,
    host: String,
    remote_addr: String,
    params: Ordered<Vec<String>>,
    headers: Ordered<Vec<String>>,
    body: Bytes,
}

#[derive(Serialize)]
struct TypedSpec {
    api_id: String,
    org_id: String,
    config_data: Canon,
}

#[derive(Serialize)]
struct TypedMetadata {
    request_id: String,
    plugin: String,
    version: String,
    time: i64,
}

#[derive(Serialize)]
struct TypedEnvelope {
    v: i64,
    hook: String,
    request: TypedRequest,
    session: Option<Canon>,
    spec: TypedSpec,
    metadata: TypedMetadata,
}

fn typed_envelope(v: i64, authorization: &str) -> TypedEnvelope {
    TypedEnvelope {
        v,
        hook: "auth".to_string(),
        request: TypedRequest {
            method: "POST".to_string(),
            url: "/items?q=1&q=2".to_string(),
            request_uri: "/api/items?q=1&q=2".to_string(),
            scheme: "https".to_string(),
            host: "api.example.com".to_string(),
            remote_addr: "192.0.2.7".to_string(),
            params: Ordered(vec![("q".to_string(), vec!["1".to_string(), "2".to_string()])]),
            headers: Ordered(vec![
                ("authorization".to_string(), vec![authorization.to_string()]),
                ("accept".to_string(), vec!["a/b".to_string(), "c/d".to_string()]),
            ]),
            body: Bytes(vec![0, 159, 146, 150]),
        },
        session: None,
        spec: TypedSpec {
            api_id: "api-1".to_string(),
            org_id: "org".to_string(),
            config_data: Canon(map(vec![
                ("tokens", map(vec![("tok", s("alice"))])),
                ("rate", Value::Int(5)),
                ("per", Value::F64(1.5)),
                ("cache_seconds", Value::Int(30)),
            ])),
        },
        metadata: TypedMetadata {
            request_id: "req-9".to_string(),
            plugin: "auth-token".to_string(),
            version: "1.0.0".to_string(),
            time: 1_700_000_000,
        },
    }
}

#[test]
fn the_kit_decodes_an_envelope_written_by_rmp_serde() {
    let bytes = rmp_serde::to_vec_named(&typed_envelope(1, "Bearer tok")).unwrap();
    let env = Envelope::decode(&bytes).unwrap();
    assert_eq!(env.v, 1);
    assert_eq!(env.hook, "auth");
    assert_eq!(env.request.method, "POST");
    assert_eq!(env.request.url, "/items?q=1&q=2");
    assert_eq!(env.request.remote_addr, "192.0.2.7");
    assert_eq!(env.request.params.values("q"), ["1", "2"]);
    assert_eq!(env.request.header("Authorization"), Some("Bearer tok"));
    assert_eq!(env.request.headers.values("accept"), ["a/b", "c/d"]);
    assert_eq!(
        env.request.body.as_deref(),
        Some(&[0u8, 159, 146, 150][..]),
        "bin body, not UTF-8"
    );
    assert!(env.session.is_none(), "nil session");
    assert_eq!(env.spec.api_id, "api-1");
    assert_eq!(env.spec.config_data.get_map("tokens").get_str("tok", ""), "alice");
    assert_eq!(
        env.spec.config_data.get_f64("rate", 0.0),
        5.0,
        "an integer read as a number"
    );
    assert_eq!(env.spec.config_data.get_i64("per", 0), 1, "a float read as an integer");
    assert_eq!(env.metadata.time, 1_700_000_000);
}

// The result of docs/abi.md §5 as serde derive would have to spell it to get
// the canonical bytes: skip every unset field, bodies as bin, ordered maps.
#[derive(Serialize, Default)]
struct TypedRequestChanges {
    #[serde(skip_serializing_if = "Option::is_none")]
    set_headers: Option<Ordered<Vec<String>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    add_headers: Option<Ordered<Vec<String>>>,
}

#[derive(Serialize)]
struct TypedReturnOverrides {
    response_code: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    response_error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    response_body: Option<Bytes>,
    #[serde(skip_serializing_if = "Option::is_none")]
    headers: Option<Ordered<Vec<String>>>,
}

#[derive(Serialize)]
struct TypedSession {
    rate: f64,
    per: f64,
    quota_max: i64,
    quota_remaining: i64,
    quota_renewal_rate: i64,
    metadata: Ordered<String>,
    id_extractor_deadline: i64,
}

#[derive(Serialize, Default)]
struct TypedResult {
    #[serde(skip_serializing_if = "Option::is_none")]
    request: Option<TypedRequestChanges>,
    #[serde(skip_serializing_if = "Option::is_none")]
    return_overrides: Option<TypedReturnOverrides>,
    #[serde(skip_serializing_if = "Option::is_none")]
    session: Option<TypedSession>,
}

fn auth_handler(env: &Envelope, out: &mut HookResult) {
    let header = env.request.header("authorization").unwrap_or("");
    let token = header.strip_prefix("Bearer ").unwrap_or(header);
    let user = env.spec.config_data.get_map("tokens").get_str(token, "").to_string();
    if user.is_empty() {
        out.respond_error(403, "invalid token");
        return;
    }
    let config = &env.spec.config_data;
    out.request.add_header("x-wasmgate-trace", "auth");
    out.set_session(
        Session::new()
            .rate(config.get_f64("rate", 100.0))
            .per(config.get_f64("per", 60.0))
            .quota_max(-1)
            .quota_remaining(-1)
            .quota_renewal_rate(3600)
            .metadata("token", token)
            .metadata("user", &user)
            .id_extractor_deadline(env.metadata.time + config.get_i64("cache_seconds", 60)),
    );
}

#[test]
fn a_kit_result_is_byte_for_byte_what_rmp_serde_writes_for_the_typed_record() {
    let input = rmp_serde::to_vec_named(&typed_envelope(1, "Bearer tok")).unwrap();
    let ours = handle(&input, auth_handler);
    let expected = TypedResult {
        request: Some(TypedRequestChanges {
            add_headers: Some(Ordered(vec![(
                "x-wasmgate-trace".to_string(),
                vec!["auth".to_string()],
            )])),
            ..TypedRequestChanges::default()
        }),
        session: Some(TypedSession {
            rate: 5.0,
            per: 1.5,
            quota_max: -1,
            quota_remaining: -1,
            quota_renewal_rate: 3600,
            metadata: Ordered(vec![
                ("token".to_string(), "tok".to_string()),
                ("user".to_string(), "alice".to_string()),
            ]),
            id_extractor_deadline: 1_700_000_030,
        }),
        ..TypedResult::default()
    };
    assert_eq!(ours, rmp_serde::to_vec_named(&expected).unwrap());

    let refused = handle(
        &rmp_serde::to_vec_named(&typed_envelope(1, "Bearer nope")).unwrap(),
        auth_handler,
    );
    let expected = TypedResult {
        return_overrides: Some(TypedReturnOverrides {
            response_code: 403,
            response_error: Some("invalid token".to_string()),
            response_body: None,
            headers: None,
        }),
        ..TypedResult::default()
    };
    assert_eq!(refused, rmp_serde::to_vec_named(&expected).unwrap());

    let mut out = HookResult::default();
    out.respond(
        200,
        b"{\"hello\":\"w\"}".to_vec(),
        wasmgate_kit::headers("content-type", "application/json"),
    );
    let expected = TypedResult {
        return_overrides: Some(TypedReturnOverrides {
            response_code: 200,
            response_error: None,
            response_body: Some(Bytes(b"{\"hello\":\"w\"}".to_vec())),
            headers: Some(Ordered(vec![(
                "content-type".to_string(),
                vec!["application/json".to_string()],
            )])),
        }),
        ..TypedResult::default()
    };
    assert_eq!(out.encode(), rmp_serde::to_vec_named(&expected).unwrap());

    // Nothing set: zero bytes, where serde would write an empty map.
    assert!(HookResult::default().encode().is_empty());
    assert_eq!(rmp_serde::to_vec_named(&TypedResult::default()).unwrap(), [0x80]);
}

#[derive(Deserialize, Debug, PartialEq)]
struct ErrorResult {
    error: String,
}

#[test]
fn version_and_garbage_errors_read_back_with_rmp_serde() {
    let v2 = handle(
        &rmp_serde::to_vec_named(&typed_envelope(2, "Bearer tok")).unwrap(),
        auth_handler,
    );
    assert_eq!(
        rmp_serde::from_slice::<ErrorResult>(&v2).unwrap(),
        ErrorResult {
            error: "unsupported ABI version".to_string()
        }
    );
    let garbage = handle(&[0xc1, 0x00], auth_handler);
    let e = rmp_serde::from_slice::<ErrorResult>(&garbage).unwrap();
    assert!(e.error.starts_with("the envelope is not valid msgpack"), "{}", e.error);
}

// A continuation (docs/outbound.md): the envelope again, plus the answers
// to the plugin's calls and the state it returned with them.
#[derive(Serialize, Default)]
struct TypedAnswer {
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    headers: Option<Ordered<Vec<String>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    body: Option<Bytes>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<String>,
}

#[derive(Serialize)]
struct TypedContinuationEnvelope {
    v: i64,
    hook: String,
    request: TypedRequest,
    session: Option<Canon>,
    spec: TypedSpec,
    metadata: TypedMetadata,
    responses: Ordered<TypedAnswer>,
    #[serde(skip_serializing_if = "Option::is_none")]
    state: Option<Bytes>,
}

fn continuation_envelope(state: Option<Vec<u8>>) -> TypedContinuationEnvelope {
    let first = typed_envelope(1, "Bearer tok");
    TypedContinuationEnvelope {
        v: 1,
        hook: "endpoint".to_string(),
        request: first.request,
        session: None,
        spec: first.spec,
        metadata: first.metadata,
        responses: Ordered(vec![
            (
                "users".to_string(),
                TypedAnswer {
                    status: Some(200),
                    headers: Some(Ordered(vec![
                        ("content-type".to_string(), vec!["application/json".to_string()]),
                        ("set-cookie".to_string(), vec!["a=1".to_string(), "b=2".to_string()]),
                    ])),
                    body: Some(Bytes("[{\"id\":1,\"name\":\"Zoë\"}]".as_bytes().to_vec())),
                    ..TypedAnswer::default()
                },
            ),
            (
                "empty".to_string(),
                TypedAnswer {
                    status: Some(204),
                    headers: Some(Ordered(Vec::new())),
                    body: Some(Bytes(Vec::new())),
                    ..TypedAnswer::default()
                },
            ),
            (
                "orders".to_string(),
                TypedAnswer {
                    error: Some("TIMEOUT".to_string()),
                    message: Some("no complete answer within 2000 ms".to_string()),
                    ..TypedAnswer::default()
                },
            ),
        ]),
        state: state.map(Bytes),
    }
}

#[test]
fn the_kit_decodes_the_answers_and_state_of_a_continuation_written_by_rmp_serde() {
    // A first call has neither.
    let first = Envelope::decode(&rmp_serde::to_vec_named(&typed_envelope(1, "Bearer tok")).unwrap()).unwrap();
    assert!(!first.is_continuation());
    assert!(first.answer("users").is_none());
    assert!(first.state.is_none());

    let state = vec![0u8, 0xc0, 0xff, b'{'];
    let bytes = rmp_serde::to_vec_named(&continuation_envelope(Some(state.clone()))).unwrap();
    let env = Envelope::decode(&bytes).unwrap();
    assert!(env.is_continuation());
    assert_eq!(env.hook, "endpoint");
    assert_eq!(env.request.header("authorization"), Some("Bearer tok"));
    assert_eq!(env.state.as_deref(), Some(&state[..]), "state comes back as the bin it was");

    let users = env.answer("users").expect("the users answer");
    assert!(users.ok());
    assert_eq!(users.status, 200);
    assert_eq!(users.header("Content-Type"), Some("application/json"));
    assert_eq!(users.headers.values("set-cookie"), ["a=1", "b=2"]);
    assert_eq!(users.body, "[{\"id\":1,\"name\":\"Zoë\"}]".as_bytes(), "bin body, UTF-8 kept");
    assert_eq!(users.body_text(), "[{\"id\":1,\"name\":\"Zoë\"}]");

    let empty = env.answer("empty").unwrap();
    assert!(empty.ok());
    assert_eq!((empty.status, empty.body.len()), (204, 0));

    let orders = env.answer("orders").unwrap();
    assert!(!orders.ok());
    assert_eq!(orders.error.as_deref(), Some("TIMEOUT"));
    assert_eq!(orders.message, "no complete answer within 2000 ms");
    assert_eq!(orders.status, 0);

    assert!(env.answer("unknown").is_none());
    let ids: Vec<&str> = env.responses.as_ref().unwrap().iter().map(|(id, _)| id).collect();
    assert_eq!(ids, ["users", "empty", "orders"], "answers in the order sent");

    let without_state = rmp_serde::to_vec_named(&continuation_envelope(None)).unwrap();
    assert!(Envelope::decode(&without_state).unwrap().state.is_none());

    // Every cut of a continuation is an error, never a panic.
    for end in 0..bytes.len() {
        assert!(Envelope::decode(&bytes[..end]).is_err(), "accepted {} of {} bytes", end, bytes.len());
    }
}

// The continuation result of docs/abi.md §5: `calls` (and `state`), nothing else.
#[derive(Serialize)]
struct TypedCall {
    id: String,
    method: String,
    url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    headers: Option<Ordered<Vec<String>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    body: Option<Bytes>,
    #[serde(skip_serializing_if = "Option::is_none")]
    timeout_ms: Option<u32>,
}

#[derive(Serialize)]
struct TypedContinuation {
    calls: Vec<TypedCall>,
    #[serde(skip_serializing_if = "Option::is_none")]
    state: Option<Bytes>,
}

fn typed_call(id: &str, method: &str, url: &str) -> TypedCall {
    TypedCall {
        id: id.to_string(),
        method: method.to_string(),
        url: url.to_string(),
        headers: None,
        body: None,
        timeout_ms: None,
    }
}

#[test]
fn a_continuation_is_byte_for_byte_what_rmp_serde_writes_for_the_typed_calls() {
    let mut out = HookResult::default();
    out.call("users", "GET", "http://127.0.0.1:8081/users")
        .header("accept", "application/json");
    out.call("audit", "POST", "http://10.0.3.7:8080/audit")
        .header("content-type", "application/json")
        .header("x-tag", "a")
        .header("x-tag", "b")
        .set_body(&b"{\"user\":1}"[..])
        .timeout(70_000);
    out.call("plain", "DELETE", "http://10.0.3.7:8080/x").timeout(0);
    out.set_state(vec![1u8, 2, 3]);
    // A continuation carries only calls and state: other changes are not written.
    out.request.add_header("x-wasmgate-trace", "endpoint");
    out.respond_error(500, "ignored");

    let expected = TypedContinuation {
        calls: vec![
            TypedCall {
                headers: Some(Ordered(vec![(
                    "accept".to_string(),
                    vec!["application/json".to_string()],
                )])),
                ..typed_call("users", "GET", "http://127.0.0.1:8081/users")
            },
            TypedCall {
                headers: Some(Ordered(vec![
                    ("content-type".to_string(), vec!["application/json".to_string()]),
                    ("x-tag".to_string(), vec!["a".to_string(), "b".to_string()]),
                ])),
                body: Some(Bytes(b"{\"user\":1}".to_vec())),
                timeout_ms: Some(70_000),
                ..typed_call("audit", "POST", "http://10.0.3.7:8080/audit")
            },
            // timeout 0 = the API's timeout: not written.
            typed_call("plain", "DELETE", "http://10.0.3.7:8080/x"),
        ],
        state: Some(Bytes(vec![1, 2, 3])),
    };
    assert_eq!(out.encode(), rmp_serde::to_vec_named(&expected).unwrap());

    let mut no_state = HookResult::default();
    no_state.call("users", "GET", "http://127.0.0.1:8081/users");
    let expected = TypedContinuation {
        calls: vec![typed_call("users", "GET", "http://127.0.0.1:8081/users")],
        state: None,
    };
    assert_eq!(no_state.encode(), rmp_serde::to_vec_named(&expected).unwrap());

    // State without calls is not a continuation: nothing to hand it back with.
    let mut only_state = HookResult::default();
    only_state.set_state(vec![9u8]);
    assert!(only_state.encode().is_empty());

    // An error still wins over everything.
    let mut failed = HookResult::default();
    failed.call("users", "GET", "http://127.0.0.1:8081/users");
    failed.fail("broken");
    assert_eq!(
        rmp_serde::from_slice::<ErrorResult>(&failed.encode()).unwrap(),
        ErrorResult {
            error: "broken".to_string()
        }
    );
}

#[derive(Serialize)]
struct TypedRouting {
    set_headers: Ordered<Vec<String>>,
    upstream: String,
}

#[derive(Serialize)]
struct TypedRoutingResult {
    request: TypedRouting,
}

#[test]
fn a_routed_request_writes_upstream_last_in_the_request_changes() {
    let mut out = HookResult::default();
    out.request.set_upstream("eu").set_header("x-routed-to", "eu");
    let expected = TypedRoutingResult {
        request: TypedRouting {
            set_headers: Ordered(vec![("x-routed-to".to_string(), vec!["eu".to_string()])]),
            upstream: "eu".to_string(),
        },
    };
    assert_eq!(out.encode(), rmp_serde::to_vec_named(&expected).unwrap());
}
