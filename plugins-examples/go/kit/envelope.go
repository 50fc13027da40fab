package kit

import "strings"

// The envelope (docs/abi.md §4), decoded into typed records. Unknown keys
// are skipped, so new optional fields never break a plugin.

// ABIVersion is the envelope version this kit reads (docs/abi.md §7).
const ABIVersion = 1

// Entry is one header or parameter name with every value, in order.
type Entry struct {
	Name   string
	Values []string
}

// Multi holds header or parameter values by name, in the order sent.
type Multi []Entry

// Values returns every value of name (exact name; header names are lower-case).
func (m Multi) Values(name string) []string {
	for _, e := range m {
		if e.Name == name {
			return e.Values
		}
	}
	return nil
}

// First returns the first value of name.
func (m Multi) First(name string) (string, bool) {
	v := m.Values(name)
	if len(v) == 0 {
		return "", false
	}
	return v[0], true
}

func readMulti(r *Reader) (Multi, error) {
	if r.Nil() {
		return nil, nil
	}
	n, err := r.MapLen()
	if err != nil {
		return nil, err
	}
	out := make(Multi, 0, min(n, 256))
	for i := 0; i < n; i++ {
		name, err := r.String()
		if err != nil {
			return nil, err
		}
		var values []string
		switch b := r.Peek(); {
		case isArray(b):
			m, err := r.ArrayLen()
			if err != nil {
				return nil, err
			}
			for j := 0; j < m; j++ {
				s, err := r.StringOrEmpty()
				if err != nil {
					return nil, err
				}
				values = append(values, s)
			}
		case b == 0xc0:
			r.Nil()
		default:
			s, err := r.StringOrEmpty()
			if err != nil {
				return nil, err
			}
			values = append(values, s)
		}
		out = append(out, Entry{name, values})
	}
	return out, nil
}

// Request is Tyk's MiniRequestObject.
type Request struct {
	Method, URL, RequestURI, Scheme, Host, RemoteAddr string
	Params, Headers                                   Multi
	// Body is present only when the plugin entry declared needs_body.
	Body []byte
}

// Header returns the first value of a header (name in any case).
func (q *Request) Header(name string) (string, bool) { return q.Headers.First(strings.ToLower(name)) }

// Query returns the first value of a query parameter.
func (q *Request) Query(name string) (string, bool) { return q.Params.First(name) }

func readRequest(r *Reader, q *Request) error {
	if r.Nil() {
		return nil
	}
	n, err := r.MapLen()
	if err != nil {
		return err
	}
	for i := 0; i < n; i++ {
		k, err := r.StrBytes()
		if err != nil {
			return err
		}
		switch string(k) {
		case "method":
			q.Method, err = r.StringOrEmpty()
		case "url":
			q.URL, err = r.StringOrEmpty()
		case "request_uri":
			q.RequestURI, err = r.StringOrEmpty()
		case "scheme":
			q.Scheme, err = r.StringOrEmpty()
		case "host":
			q.Host, err = r.StringOrEmpty()
		case "remote_addr":
			q.RemoteAddr, err = r.StringOrEmpty()
		case "params":
			q.Params, err = readMulti(r)
		case "headers":
			q.Headers, err = readMulti(r)
		case "body":
			q.Body, err = r.BytesOrNil()
		default:
			err = r.Skip()
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// Response is Tyk's ResponseObject (response hook).
type Response struct {
	StatusCode int64
	Headers    Multi
	Body       []byte
}

// Header returns the first value of a header (name in any case).
func (s *Response) Header(name string) (string, bool) { return s.Headers.First(strings.ToLower(name)) }

func readResponse(r *Reader) (*Response, error) {
	if r.Nil() {
		return nil, nil
	}
	s := &Response{}
	n, err := r.MapLen()
	if err != nil {
		return nil, err
	}
	for i := 0; i < n; i++ {
		k, err := r.StrBytes()
		if err != nil {
			return nil, err
		}
		switch string(k) {
		case "status_code":
			s.StatusCode, err = r.Int()
		case "headers":
			s.Headers, err = readMulti(r)
		case "body":
			s.Body, err = r.BytesOrNil()
		default:
			err = r.Skip()
		}
		if err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Fields is a map read by key with a fallback: spec.config_data, the
// session, the analytics record.
type Fields struct{ V Value }

// Get returns the value at key.
func (f Fields) Get(key string) (*Value, bool) { return f.V.Get(key) }

// Has reports whether key is present.
func (f Fields) Has(key string) bool {
	_, ok := f.V.Get(key)
	return ok
}

// String returns a string value, or fallback when absent or not a string.
func (f Fields) String(key, fallback string) string {
	if v, ok := f.V.Get(key); ok && v.Kind == Str {
		return v.S
	}
	return fallback
}

// Float returns a number as float64, or fallback when absent or not a number.
func (f Fields) Float(key string, fallback float64) float64 {
	if v, ok := f.V.Get(key); ok {
		if x, ok := v.Float64(); ok {
			return x
		}
	}
	return fallback
}

// Int returns a number as int64 (floats truncated), or fallback when absent or not a number.
func (f Fields) Int(key string, fallback int64) int64 {
	if v, ok := f.V.Get(key); ok {
		if x, ok := v.Int64(); ok {
			return x
		}
	}
	return fallback
}

// Bool returns a bool, or fallback when absent or not a bool.
func (f Fields) Bool(key string, fallback bool) bool {
	if v, ok := f.V.Get(key); ok && v.Kind == Bool {
		return v.B
	}
	return fallback
}

// Map returns a nested map (empty when absent or not a map).
func (f Fields) Map(key string) Fields {
	if v, ok := f.V.Get(key); ok && v.Kind == Map {
		return Fields{*v}
	}
	return Fields{Value{Kind: Map}}
}

// Spec is the API the call belongs to.
type Spec struct {
	APIID, OrgID, Name string
	// ConfigData is the API's config_data.
	ConfigData Fields
}

func readSpec(r *Reader, s *Spec) error {
	s.ConfigData = Fields{Value{Kind: Map}}
	if r.Nil() {
		return nil
	}
	n, err := r.MapLen()
	if err != nil {
		return err
	}
	for i := 0; i < n; i++ {
		k, err := r.StrBytes()
		if err != nil {
			return err
		}
		switch string(k) {
		case "api_id":
			s.APIID, err = r.StringOrEmpty()
		case "org_id":
			s.OrgID, err = r.StringOrEmpty()
		case "name":
			s.Name, err = r.StringOrEmpty()
		case "config_data":
			var v Value
			v, err = r.Value()
			if err == nil && v.Kind == Map {
				s.ConfigData = Fields{v}
			}
		default:
			err = r.Skip()
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// Metadata is the call's request id, plugin name and version, and the gateway's clock.
type Metadata struct {
	RequestID, Plugin, Version string
	// Time is unix seconds at the start of the request.
	Time int64
}

func readMetadata(r *Reader, m *Metadata) error {
	if r.Nil() {
		return nil
	}
	n, err := r.MapLen()
	if err != nil {
		return err
	}
	for i := 0; i < n; i++ {
		k, err := r.StrBytes()
		if err != nil {
			return err
		}
		switch string(k) {
		case "request_id":
			m.RequestID, err = r.StringOrEmpty()
		case "plugin":
			m.Plugin, err = r.StringOrEmpty()
		case "version":
			m.Version, err = r.StringOrEmpty()
		case "time":
			m.Time, err = r.Int()
		default:
			err = r.Skip()
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// CallAnswer is the answer to one outbound call (docs/outbound.md): the
// service's response, or the gateway's reason for not having one.
type CallAnswer struct {
	Status  int64
	Headers Multi
	Body    []byte
	// Error is ORIGIN_NOT_ALLOWED, ADDRESS_REFUSED, TIMEOUT, TOO_LARGE,
	// BAD_URL or FAILED; "" when the service answered.
	Error   string
	Message string
}

// OK reports whether the service answered (whatever its status).
func (a *CallAnswer) OK() bool { return a.Error == "" }

// Header returns the first value of a response header (name in any case).
func (a *CallAnswer) Header(name string) (string, bool) {
	return a.Headers.First(strings.ToLower(name))
}

func readAnswers(r *Reader) (map[string]*CallAnswer, error) {
	if r.Nil() {
		return nil, nil
	}
	n, err := r.MapLen()
	if err != nil {
		return nil, err
	}
	out := make(map[string]*CallAnswer, min(n, 64))
	for i := 0; i < n; i++ {
		id, err := r.String()
		if err != nil {
			return nil, err
		}
		a := &CallAnswer{}
		m, err := r.MapLen()
		if err != nil {
			return nil, err
		}
		for j := 0; j < m; j++ {
			k, err := r.StrBytes()
			if err != nil {
				return nil, err
			}
			switch string(k) {
			case "status":
				a.Status, err = r.Int()
			case "headers":
				a.Headers, err = readMulti(r)
			case "body":
				a.Body, err = r.BytesOrNil()
			case "error":
				a.Error, err = r.StringOrEmpty()
			case "message":
				a.Message, err = r.StringOrEmpty()
			default:
				err = r.Skip()
			}
			if err != nil {
				return nil, err
			}
		}
		out[id] = a
	}
	return out, nil
}

// Envelope is one call's input.
type Envelope struct {
	V       int64
	Hook    string
	Request Request
	// Session is nil when absent (pre, auth) or nil.
	Session *Fields
	// Response is set for the response hook only.
	Response *Response
	// Record is the analytics record (analytics hook only).
	Record   *Fields
	Spec     Spec
	Metadata Metadata
	// Responses holds, on a continuation only, the answers to the calls the
	// plugin asked for, by call id; nil on a first call.
	Responses map[string]*CallAnswer
	// State is, on a continuation only, the state the plugin returned with its calls.
	State []byte
}

// DecodeEnvelope decodes an envelope. A version other than 1 is not an error here.
func DecodeEnvelope(input []byte) (*Envelope, error) {
	r := NewReader(input)
	env := &Envelope{Spec: Spec{ConfigData: Fields{Value{Kind: Map}}}}
	n, err := r.MapLen()
	if err != nil {
		return nil, err
	}
	for i := 0; i < n; i++ {
		k, err := r.StrBytes()
		if err != nil {
			return nil, err
		}
		switch string(k) {
		case "v":
			env.V, err = r.Int()
		case "hook":
			env.Hook, err = r.StringOrEmpty()
		case "request":
			err = readRequest(r, &env.Request)
		case "session":
			var v Value
			if v, err = r.Value(); err == nil && v.Kind == Map {
				env.Session = &Fields{v}
			}
		case "response":
			env.Response, err = readResponse(r)
		case "record":
			var v Value
			if v, err = r.Value(); err == nil && v.Kind == Map {
				env.Record = &Fields{v}
			}
		case "spec":
			err = readSpec(r, &env.Spec)
		case "metadata":
			err = readMetadata(r, &env.Metadata)
		case "responses":
			env.Responses, err = readAnswers(r)
		case "state":
			env.State, err = r.BytesOrNil()
		default:
			err = r.Skip()
		}
		if err != nil {
			return nil, err
		}
	}
	return env, nil
}

// IsContinuation reports whether this call carries the answers to calls the plugin asked for.
func (e *Envelope) IsContinuation() bool { return e.Responses != nil }

// Answer returns the answer to the call with this id; false on a first call or for an unknown id.
func (e *Envelope) Answer(id string) (*CallAnswer, bool) {
	a, ok := e.Responses[id]
	return a, ok
}

// SessionMetadata returns the session's metadata[key] when it is a string.
func (e *Envelope) SessionMetadata(key string) (string, bool) {
	if e.Session == nil {
		return "", false
	}
	m, ok := e.Session.Get("metadata")
	if !ok {
		return "", false
	}
	v, ok := m.Get(key)
	if !ok || v.Kind != Str {
		return "", false
	}
	return v.S, true
}
