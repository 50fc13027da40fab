// Package kit is the wasmgate plugin kit for Go (GOOS=wasip1 GOARCH=wasm,
// -buildmode=c-shared: a reactor the gateway runs with WASI enabled).
//
//	//go:wasmexport pre_enrich
//	func preEnrich() int32 {
//		return kit.Run(func(env *kit.Envelope, out *kit.Result) {
//			out.Request.SetHeader("x-request-id", env.Metadata.RequestID)
//			out.Request.AddHeader("x-wasmgate-trace", "pre")
//		})
//	}
//
// Run reads the envelope through wasmgate:host/v1 (one host call), decodes
// it into typed records, answers {"error": "unsupported ABI version"} for an
// envelope version it does not know, and writes the result in the canonical
// encoding of docs/abi.md §6 — zero bytes when the plugin changed nothing.
// The kit has no dependencies; errors travel as {"error": …}.
//
// Outbound calls are continuations (docs/outbound.md): the handler asks for
// calls with out.Call(…), the gateway makes them in parallel and runs the
// same export again, where env.Answer(id) has each answer:
//
//	if !env.IsContinuation() {
//		out.Call("users", "GET", env.Spec.ConfigData.String("users_url", ""))
//		return
//	}
//	if a, ok := env.Answer("users"); ok && a.OK() && a.Status == 200 {
//		out.Respond(200, a.Body, nil)
//	}
package kit

// LogLevel is a level of wasmgate:host/v1.log.
type LogLevel int32

const (
	LevelTrace LogLevel = iota
	LevelDebug
	LevelInfo
	LevelWarn
	LevelError
)

// Run runs one hook call: envelope in, handler, canonical result out.
// It returns 0 (the Extism convention; the host ignores the value).
func Run(handler func(env *Envelope, out *Result)) int32 {
	WriteOutput(Handle(ReadInput(), handler))
	return 0
}

// Handle is the pure part of Run: envelope bytes in, result bytes out.
func Handle(input []byte, handler func(env *Envelope, out *Result)) []byte {
	out := &Result{}
	env, err := DecodeEnvelope(input)
	switch {
	case err != nil:
		out.Fail("the envelope is not valid msgpack: " + err.Error())
	case env.V != ABIVersion:
		out.Fail("unsupported ABI version")
	default:
		handler(env, out)
	}
	return out.Encode()
}

// OneHeader is a one-header map, for Result.Respond.
func OneHeader(name, value string) Headers {
	return Headers{{name, []string{value}}}
}
