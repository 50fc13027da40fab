package kit

import (
	"bytes"
	"encoding/hex"
	"testing"
)

// A continuation's records spelled out in msgpack by hand, independently of
// the kit's Writer: fixmap, fixarray, fixstr, str8 and bin8 headers are all
// these records need.

func fixmap(n int) []byte   { return []byte{0x80 | byte(n)} }
func fixarray(n int) []byte { return []byte{0x90 | byte(n)} }

func str(s string) []byte {
	if len(s) < 32 {
		return append([]byte{0xa0 | byte(len(s))}, s...)
	}
	return append([]byte{0xd9, byte(len(s))}, s...)
}

func bin(b []byte) []byte { return append([]byte{0xc4, byte(len(b))}, b...) }

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func expectBytes(t *testing.T, got, want []byte) {
	t.Helper()
	if !bytes.Equal(got, want) {
		t.Fatalf("bytes differ\n got %s\nwant %s", hex.EncodeToString(got), hex.EncodeToString(want))
	}
}

func TestContinuationWritesCallsAndStateOnly(t *testing.T) {
	out := &Result{}
	out.Call("users", "GET", "http://127.0.0.1:8081/users").Header("accept", "application/json")
	out.Call("audit", "POST", "http://10.0.3.7:8080/audit").
		Header("x-tag", "a").Header("x-tag", "b").SetBody([]byte(`{"user":1}`)).Timeout(1500)
	out.Call("plain", "DELETE", "http://10.0.3.7:8080/x").Timeout(0)
	out.SetState([]byte{0, 0xc0, 0xff})
	// Not written: a continuation carries only its calls and state.
	out.Request.AddHeader("x-wasmgate-trace", "endpoint")
	out.RespondError(500, "ignored")

	want := cat(fixmap(2), str("calls"), fixarray(3),
		fixmap(4), str("id"), str("users"), str("method"), str("GET"), str("url"), str("http://127.0.0.1:8081/users"),
		str("headers"), fixmap(1), str("accept"), fixarray(1), str("application/json"),
		fixmap(6), str("id"), str("audit"), str("method"), str("POST"), str("url"), str("http://10.0.3.7:8080/audit"),
		str("headers"), fixmap(1), str("x-tag"), fixarray(2), str("a"), str("b"),
		str("body"), bin([]byte(`{"user":1}`)),
		str("timeout_ms"), []byte{0xcd, 0x05, 0xdc},
		fixmap(3), str("id"), str("plain"), str("method"), str("DELETE"), str("url"), str("http://10.0.3.7:8080/x"),
		str("state"), bin([]byte{0, 0xc0, 0xff}))
	expectBytes(t, out.Encode(), want)

	onlyState := &Result{}
	onlyState.SetState([]byte{9})
	if b := onlyState.Encode(); len(b) != 0 {
		t.Fatalf("state without calls wrote %x", b)
	}

	failed := &Result{}
	failed.Call("users", "GET", "http://127.0.0.1:8081/users")
	failed.Fail("broken")
	expectBytes(t, failed.Encode(), cat(fixmap(1), str("error"), str("broken")))
}

func TestRoutedRequestWritesUpstreamLast(t *testing.T) {
	out := &Result{}
	out.Request.SetUpstream("eu")
	out.Request.SetHeader("x-routed-to", "eu")
	want := cat(fixmap(1), str("request"), fixmap(2),
		str("set_headers"), fixmap(1), str("x-routed-to"), fixarray(1), str("eu"),
		str("upstream"), str("eu"))
	expectBytes(t, out.Encode(), want)
}

func continuationEnvelope(state []byte) []byte {
	fields := 4
	if state != nil {
		fields++
	}
	env := cat(fixmap(fields), str("v"), []byte{1}, str("hook"), str("endpoint"),
		str("metadata"), fixmap(1), str("request_id"), str("req-1"),
		str("responses"), fixmap(3),
		str("users"), fixmap(3), str("status"), []byte{0xcc, 200},
		str("headers"), fixmap(2), str("content-type"), fixarray(1), str("application/json"),
		str("set-cookie"), fixarray(2), str("a=1"), str("b=2"),
		str("body"), bin([]byte(`[{"id":1,"name":"Zoë"}]`)),
		str("empty"), fixmap(3), str("status"), []byte{0xcc, 204}, str("headers"), fixmap(0), str("body"), bin(nil),
		str("orders"), fixmap(2), str("error"), str("TIMEOUT"), str("message"), str("no complete answer within 2000 ms"))
	if state != nil {
		env = append(env, cat(str("state"), bin(state))...)
	}
	return env
}

func TestContinuationEnvelopeDecodes(t *testing.T) {
	first, err := DecodeEnvelope(cat(fixmap(2), str("v"), []byte{1}, str("hook"), str("endpoint")))
	if err != nil {
		t.Fatal(err)
	}
	if first.IsContinuation() || first.State != nil {
		t.Fatal("a first call is not a continuation")
	}
	if _, ok := first.Answer("users"); ok {
		t.Fatal("a first call has no answers")
	}

	input := continuationEnvelope([]byte{0, 0xc0, 0xff, '{'})
	env, err := DecodeEnvelope(input)
	if err != nil {
		t.Fatal(err)
	}
	if !env.IsContinuation() || env.Metadata.RequestID != "req-1" {
		t.Fatalf("envelope: %+v", env)
	}
	if !bytes.Equal(env.State, []byte{0, 0xc0, 0xff, '{'}) {
		t.Fatalf("state %x", env.State)
	}
	users, ok := env.Answer("users")
	if !ok || !users.OK() || users.Status != 200 || string(users.Body) != `[{"id":1,"name":"Zoë"}]` {
		t.Fatalf("users: %+v", users)
	}
	if ct, _ := users.Header("Content-Type"); ct != "application/json" {
		t.Fatalf("content-type %q", ct)
	}
	if v := users.Headers.Values("set-cookie"); len(v) != 2 || v[0] != "a=1" || v[1] != "b=2" {
		t.Fatalf("set-cookie %q", v)
	}
	empty, ok := env.Answer("empty")
	if !ok || !empty.OK() || empty.Status != 204 || len(empty.Body) != 0 {
		t.Fatalf("empty: %+v", empty)
	}
	orders, ok := env.Answer("orders")
	if !ok || orders.OK() || orders.Error != "TIMEOUT" || orders.Message != "no complete answer within 2000 ms" {
		t.Fatalf("orders: %+v", orders)
	}
	if _, ok := env.Answer("unknown"); ok {
		t.Fatal("an unknown id has no answer")
	}

	noState, err := DecodeEnvelope(continuationEnvelope(nil))
	if err != nil || noState.State != nil {
		t.Fatalf("without state: %v %x", err, noState.State)
	}
	for end := 0; end < len(input); end++ {
		if _, err := DecodeEnvelope(input[:end]); err == nil {
			t.Fatalf("accepted %d of %d bytes", end, len(input))
		}
	}
}
