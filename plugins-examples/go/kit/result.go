package kit

// The result record (docs/abi.md §5) and its canonical encoding (§6):
// fixed key order, only the fields the plugin set, header values always as
// arrays, user maps in insertion order.

// Headers holds header (or parameter) values by name, in the order names were first set.
type Headers []Entry

// Set replaces every value of name (keeping its position when already set).
func (h *Headers) Set(name string, values ...string) {
	for i := range *h {
		if (*h)[i].Name == name {
			(*h)[i].Values = values
			return
		}
	}
	*h = append(*h, Entry{name, values})
}

// Add appends a value to name.
func (h *Headers) Add(name, value string) {
	for i := range *h {
		if (*h)[i].Name == name {
			(*h)[i].Values = append((*h)[i].Values, value)
			return
		}
	}
	*h = append(*h, Entry{name, []string{value}})
}

func (h Headers) write(w *Writer) {
	w.MapLen(len(h))
	for _, e := range h {
		w.Str(e.Name)
		w.StrArray(e.Values)
	}
}

func count(flags ...bool) int {
	n := 0
	for _, f := range flags {
		if f {
			n++
		}
	}
	return n
}

// RequestChanges are changes to the request (pre, auth, post_auth, endpoint, post).
type RequestChanges struct {
	SetHeaders    Headers
	AddHeaders    Headers
	DeleteHeaders []string
	// AddParams replaces every value of a query parameter.
	AddParams    Headers
	DeleteParams []string
	Body         []byte
	HasBody      bool
	URL          *string
	// Upstream names one of the API's upstream_targets (docs/outbound.md).
	Upstream *string
}

func (c *RequestChanges) SetHeader(name, value string) { c.SetHeaders.Set(name, value) }
func (c *RequestChanges) AddHeader(name, value string) { c.AddHeaders.Add(name, value) }
func (c *RequestChanges) DeleteHeader(name string)     { c.DeleteHeaders = append(c.DeleteHeaders, name) }
func (c *RequestChanges) SetParam(name, value string)  { c.AddParams.Set(name, value) }
func (c *RequestChanges) DeleteParam(name string)      { c.DeleteParams = append(c.DeleteParams, name) }
func (c *RequestChanges) SetBody(b []byte)             { c.Body, c.HasBody = b, true }
func (c *RequestChanges) SetURL(u string)              { c.URL = &u }

// SetUpstream routes this request to one of the API's upstream_targets, by
// name; a name the API does not list fails the request.
func (c *RequestChanges) SetUpstream(name string) { c.Upstream = &name }

// IsEmpty reports whether nothing was changed.
func (c *RequestChanges) IsEmpty() bool {
	return len(c.SetHeaders) == 0 && len(c.AddHeaders) == 0 && len(c.DeleteHeaders) == 0 &&
		len(c.AddParams) == 0 && len(c.DeleteParams) == 0 && !c.HasBody && c.URL == nil && c.Upstream == nil
}

func (c *RequestChanges) write(w *Writer) {
	w.MapLen(count(len(c.SetHeaders) > 0, len(c.AddHeaders) > 0, len(c.DeleteHeaders) > 0,
		len(c.AddParams) > 0, len(c.DeleteParams) > 0, c.HasBody, c.URL != nil, c.Upstream != nil))
	if len(c.SetHeaders) > 0 {
		w.Str("set_headers")
		c.SetHeaders.write(w)
	}
	if len(c.AddHeaders) > 0 {
		w.Str("add_headers")
		c.AddHeaders.write(w)
	}
	if len(c.DeleteHeaders) > 0 {
		w.Str("delete_headers")
		w.StrArray(c.DeleteHeaders)
	}
	if len(c.AddParams) > 0 {
		w.Str("add_params")
		c.AddParams.write(w)
	}
	if len(c.DeleteParams) > 0 {
		w.Str("delete_params")
		w.StrArray(c.DeleteParams)
	}
	if c.HasBody {
		w.Str("body")
		w.Bin(c.Body)
	}
	if c.URL != nil {
		w.Str("url")
		w.Str(*c.URL)
	}
	if c.Upstream != nil {
		w.Str("upstream")
		w.Str(*c.Upstream)
	}
}

// Call is an HTTP call for the gateway to make (docs/outbound.md). The
// calls of one result run in parallel; their answers come back in the
// envelope of the next call of the same export (Envelope.Answer).
type Call struct {
	// ID is unique within one result: the key of its answer.
	ID, Method, URL string
	Headers         Headers
	Body            []byte
	HasBody         bool
	// TimeoutMs 0 = the API's outbound.timeout_ms; a shorter one wins.
	TimeoutMs int64
}

// Header appends a request header value.
func (c *Call) Header(name, value string) *Call { c.Headers.Add(name, value); return c }

// SetBody sets the body the call sends.
func (c *Call) SetBody(b []byte) *Call { c.Body, c.HasBody = b, true; return c }

// Timeout sets this call's timeout in milliseconds; the API's
// outbound.timeout_ms still caps it.
func (c *Call) Timeout(ms int64) *Call { c.TimeoutMs = ms; return c }

func (c *Call) write(w *Writer) {
	w.MapLen(3 + count(len(c.Headers) > 0, c.HasBody, c.TimeoutMs > 0))
	w.Str("id")
	w.Str(c.ID)
	w.Str("method")
	w.Str(c.Method)
	w.Str("url")
	w.Str(c.URL)
	if len(c.Headers) > 0 {
		w.Str("headers")
		c.Headers.write(w)
	}
	if c.HasBody {
		w.Str("body")
		w.Bin(c.Body)
	}
	if c.TimeoutMs > 0 {
		w.Str("timeout_ms")
		w.Int(c.TimeoutMs)
	}
}

// ReturnOverrides ends the request at the gateway (Tyk's ReturnOverrides).
type ReturnOverrides struct {
	ResponseCode  int64
	ResponseError *string
	ResponseBody  []byte
	HasBody       bool
	Headers       Headers
	OverrideError *bool
}

func (o *ReturnOverrides) write(w *Writer) {
	w.MapLen(1 + count(o.ResponseError != nil, o.HasBody, len(o.Headers) > 0, o.OverrideError != nil))
	w.Str("response_code")
	w.Int(o.ResponseCode)
	if o.ResponseError != nil {
		w.Str("response_error")
		w.Str(*o.ResponseError)
	}
	if o.HasBody {
		w.Str("response_body")
		w.Bin(o.ResponseBody)
	}
	if len(o.Headers) > 0 {
		w.Str("headers")
		o.Headers.write(w)
	}
	if o.OverrideError != nil {
		w.Str("override_error")
		w.Bool(*o.OverrideError)
	}
}

// AllowedURL is one allowed_urls entry of an access definition.
type AllowedURL struct {
	URL     string
	Methods []string
}

// AccessDefinition is one access_rights entry.
type AccessDefinition struct {
	APIID       string
	APIName     *string
	Versions    []string // nil = not written
	AllowedURLs []AllowedURL
	HasURLs     bool
}

func (d *AccessDefinition) write(w *Writer) {
	w.MapLen(1 + count(d.APIName != nil, d.Versions != nil, d.HasURLs))
	w.Str("api_id")
	w.Str(d.APIID)
	if d.APIName != nil {
		w.Str("api_name")
		w.Str(*d.APIName)
	}
	if d.Versions != nil {
		w.Str("versions")
		w.StrArray(d.Versions)
	}
	if d.HasURLs {
		w.Str("allowed_urls")
		w.ArrayLen(len(d.AllowedURLs))
		for _, u := range d.AllowedURLs {
			w.MapLen(2)
			w.Str("url")
			w.Str(u.URL)
			w.Str("methods")
			w.StrArray(u.Methods)
		}
	}
}

// Session is a session for the auth hook to return (Tyk's SessionState).
// Only the fields set are written, in the order of docs/abi.md §4; use the
// chained setters.
type Session struct {
	rate, per, allowance                                *float64
	quotaMax, quotaRemaining, quotaRenews, quotaRenewal *int64
	accessRights                                        []accessEntry
	hasAccess                                           bool
	applyPolicies                                       []string
	hasPolicies                                         bool
	metadata                                            []Entry
	hasMetadata                                         bool
	tags                                                []string
	hasTags                                             bool
	expires, idExtractorDeadline                        *int64
	lastUpdated, alias, orgID                           *string
}

type accessEntry struct {
	key string
	def AccessDefinition
}

// NewSession starts an empty session.
func NewSession() *Session { return &Session{} }

func f64p(v float64) *float64 { return &v }
func i64p(v int64) *int64     { return &v }
func strp(v string) *string   { return &v }

func (s *Session) Rate(v float64) *Session           { s.rate = f64p(v); return s }
func (s *Session) Per(v float64) *Session            { s.per = f64p(v); return s }
func (s *Session) Allowance(v float64) *Session      { s.allowance = f64p(v); return s }
func (s *Session) QuotaMax(v int64) *Session         { s.quotaMax = i64p(v); return s }
func (s *Session) QuotaRemaining(v int64) *Session   { s.quotaRemaining = i64p(v); return s }
func (s *Session) QuotaRenews(v int64) *Session      { s.quotaRenews = i64p(v); return s }
func (s *Session) QuotaRenewalRate(v int64) *Session { s.quotaRenewal = i64p(v); return s }
func (s *Session) Expires(v int64) *Session          { s.expires = i64p(v); return s }
func (s *Session) LastUpdated(v string) *Session     { s.lastUpdated = strp(v); return s }
func (s *Session) Alias(v string) *Session           { s.alias = strp(v); return s }
func (s *Session) OrgID(v string) *Session           { s.orgID = strp(v); return s }

// IDExtractorDeadline: until this time (unix seconds) the gateway reuses the session without calling the plugin.
func (s *Session) IDExtractorDeadline(v int64) *Session { s.idExtractorDeadline = i64p(v); return s }

// AllowAPI grants access to one API (all versions and paths).
func (s *Session) AllowAPI(apiID, apiName string) *Session {
	def := AccessDefinition{APIID: apiID}
	if apiName != "" {
		def.APIName = strp(apiName)
	}
	s.hasAccess = true
	for i := range s.accessRights {
		if s.accessRights[i].key == apiID {
			s.accessRights[i].def = def
			return s
		}
	}
	s.accessRights = append(s.accessRights, accessEntry{apiID, def})
	return s
}

// ApplyPolicy appends a policy id.
func (s *Session) ApplyPolicy(id string) *Session {
	s.hasPolicies = true
	s.applyPolicies = append(s.applyPolicies, id)
	return s
}

// Metadata sets metadata[key] (insertion order kept; a second set replaces in place).
func (s *Session) Metadata(key, value string) *Session {
	s.hasMetadata = true
	for i := range s.metadata {
		if s.metadata[i].Name == key {
			s.metadata[i].Values = []string{value}
			return s
		}
	}
	s.metadata = append(s.metadata, Entry{key, []string{value}})
	return s
}

// Tag appends a tag.
func (s *Session) Tag(t string) *Session {
	s.hasTags = true
	s.tags = append(s.tags, t)
	return s
}

func (s *Session) write(w *Writer) {
	w.MapLen(count(s.rate != nil, s.per != nil, s.allowance != nil, s.quotaMax != nil, s.quotaRemaining != nil,
		s.quotaRenews != nil, s.quotaRenewal != nil, s.hasAccess, s.hasPolicies, s.hasMetadata, s.hasTags,
		s.expires != nil, s.idExtractorDeadline != nil, s.lastUpdated != nil, s.alias != nil, s.orgID != nil))
	float := func(k string, v *float64) {
		if v != nil {
			w.Str(k)
			w.Float(*v)
		}
	}
	integer := func(k string, v *int64) {
		if v != nil {
			w.Str(k)
			w.Int(*v)
		}
	}
	text := func(k string, v *string) {
		if v != nil {
			w.Str(k)
			w.Str(*v)
		}
	}
	float("rate", s.rate)
	float("per", s.per)
	float("allowance", s.allowance)
	integer("quota_max", s.quotaMax)
	integer("quota_remaining", s.quotaRemaining)
	integer("quota_renews", s.quotaRenews)
	integer("quota_renewal_rate", s.quotaRenewal)
	if s.hasAccess {
		w.Str("access_rights")
		w.MapLen(len(s.accessRights))
		for _, e := range s.accessRights {
			w.Str(e.key)
			e.def.write(w)
		}
	}
	if s.hasPolicies {
		w.Str("apply_policies")
		w.StrArray(s.applyPolicies)
	}
	if s.hasMetadata {
		w.Str("metadata")
		w.MapLen(len(s.metadata))
		for _, e := range s.metadata {
			w.Str(e.Name)
			w.Str(e.Values[0])
		}
	}
	if s.hasTags {
		w.Str("tags")
		w.StrArray(s.tags)
	}
	integer("expires", s.expires)
	integer("id_extractor_deadline", s.idExtractorDeadline)
	text("last_updated", s.lastUpdated)
	text("alias", s.alias)
	text("org_id", s.orgID)
}

// ResponseChanges are changes to the upstream response (response hook).
type ResponseChanges struct {
	// StatusCode 0 = unchanged.
	StatusCode    int64
	SetHeaders    Headers
	AddHeaders    Headers
	DeleteHeaders []string
	Body          []byte
	HasBody       bool
}

func (c *ResponseChanges) SetStatus(code int64)         { c.StatusCode = code }
func (c *ResponseChanges) SetHeader(name, value string) { c.SetHeaders.Set(name, value) }
func (c *ResponseChanges) AddHeader(name, value string) { c.AddHeaders.Add(name, value) }
func (c *ResponseChanges) DeleteHeader(name string)     { c.DeleteHeaders = append(c.DeleteHeaders, name) }
func (c *ResponseChanges) SetBody(b []byte)             { c.Body, c.HasBody = b, true }

// IsEmpty reports whether nothing was changed.
func (c *ResponseChanges) IsEmpty() bool {
	return c.StatusCode == 0 && len(c.SetHeaders) == 0 && len(c.AddHeaders) == 0 && len(c.DeleteHeaders) == 0 && !c.HasBody
}

func (c *ResponseChanges) write(w *Writer) {
	w.MapLen(count(c.StatusCode != 0, len(c.SetHeaders) > 0, len(c.AddHeaders) > 0, len(c.DeleteHeaders) > 0, c.HasBody))
	if c.StatusCode != 0 {
		w.Str("status_code")
		w.Int(c.StatusCode)
	}
	if len(c.SetHeaders) > 0 {
		w.Str("set_headers")
		c.SetHeaders.write(w)
	}
	if len(c.AddHeaders) > 0 {
		w.Str("add_headers")
		c.AddHeaders.write(w)
	}
	if len(c.DeleteHeaders) > 0 {
		w.Str("delete_headers")
		w.StrArray(c.DeleteHeaders)
	}
	if c.HasBody {
		w.Str("body")
		w.Bin(c.Body)
	}
}

// RecordChanges are changes to the analytics record (analytics hook).
type RecordChanges struct {
	// Set holds the fields to rewrite, in the order set.
	Set        []Pair
	DropFields []string
	Drop       bool
}

// SetField rewrites a field of the record.
func (c *RecordChanges) SetField(field string, v Value) {
	for i := range c.Set {
		if c.Set[i].Key.S == field {
			c.Set[i].Val = v
			return
		}
	}
	c.Set = append(c.Set, Pair{StrValue(field), v})
}

// SetString rewrites a string field of the record.
func (c *RecordChanges) SetString(field, v string) { c.SetField(field, StrValue(v)) }
func (c *RecordChanges) DropField(field string)    { c.DropFields = append(c.DropFields, field) }
func (c *RecordChanges) DropRecord()               { c.Drop = true }

// IsEmpty reports whether nothing was changed.
func (c *RecordChanges) IsEmpty() bool { return len(c.Set) == 0 && len(c.DropFields) == 0 && !c.Drop }

func (c *RecordChanges) write(w *Writer) {
	w.MapLen(count(len(c.Set) > 0, len(c.DropFields) > 0, c.Drop))
	if len(c.Set) > 0 {
		w.Str("set")
		w.Value(Value{Kind: Map, Pairs: c.Set})
	}
	if len(c.DropFields) > 0 {
		w.Str("drop_fields")
		w.StrArray(c.DropFields)
	}
	if c.Drop {
		w.Str("drop")
		w.Bool(true)
	}
}

// Result is everything a hook call answers. Empty = zero bytes of output
// ("continue, change nothing").
type Result struct {
	Request         RequestChanges
	ReturnOverrides *ReturnOverrides
	Session         *Session
	Response        ResponseChanges
	Record          RecordChanges
	// Error: the plugin failed on purpose; when set, nothing else is written.
	Error *string
	// Calls make a continuation: when not empty, only they and State are written.
	Calls []*Call
	// State is handed back with the answers (at most 64 KiB); written only with calls.
	State    []byte
	HasState bool
}

// RespondError ends the request with code and {"error": message}.
func (r *Result) RespondError(code int64, message string) {
	r.ReturnOverrides = &ReturnOverrides{ResponseCode: code, ResponseError: strp(message)}
}

// Respond ends the request with code, body and headers.
func (r *Result) Respond(code int64, body []byte, headers Headers) {
	r.ReturnOverrides = &ReturnOverrides{ResponseCode: code, ResponseBody: body, HasBody: true, Headers: headers}
}

// SetSession returns a session (auth hook).
func (r *Result) SetSession(s *Session) { r.Session = s }

// Fail makes the call a plugin failure with message.
func (r *Result) Fail(message string) { r.Error = strp(message) }

// Call asks the gateway to make an HTTP call, then to call this export
// again with the answer (Envelope.Answer(id)). A result with calls carries
// nothing else: changes belong in the call that has the answers.
// Hooks: pre, auth, post_auth, endpoint, post.
func (r *Result) Call(id, method, url string) *Call {
	c := &Call{ID: id, Method: method, URL: url}
	r.Calls = append(r.Calls, c)
	return c
}

// SetState sets bytes the gateway hands back with the answers
// (Envelope.State): the instance is released between rounds, so memory
// does not carry over.
func (r *Result) SetState(b []byte) { r.State, r.HasState = b, true }

// Encode returns the canonical bytes; empty when nothing was set.
func (r *Result) Encode() []byte {
	w := &Writer{Buf: make([]byte, 0, 256)}
	if r.Error != nil {
		w.MapLen(1)
		w.Str("error")
		w.Str(*r.Error)
		return w.Buf
	}
	if len(r.Calls) > 0 {
		w.MapLen(1 + count(r.HasState))
		w.Str("calls")
		w.ArrayLen(len(r.Calls))
		for _, c := range r.Calls {
			c.write(w)
		}
		if r.HasState {
			w.Str("state")
			w.Bin(r.State)
		}
		return w.Buf
	}
	hasRequest, hasResponse, hasRecord := !r.Request.IsEmpty(), !r.Response.IsEmpty(), !r.Record.IsEmpty()
	n := count(hasRequest, r.ReturnOverrides != nil, r.Session != nil, hasResponse, hasRecord)
	if n == 0 {
		return nil
	}
	w.MapLen(n)
	if hasRequest {
		w.Str("request")
		r.Request.write(w)
	}
	if r.ReturnOverrides != nil {
		w.Str("return_overrides")
		r.ReturnOverrides.write(w)
	}
	if r.Session != nil {
		w.Str("session")
		r.Session.write(w)
	}
	if hasResponse {
		w.Str("response")
		r.Response.write(w)
	}
	if hasRecord {
		w.Str("record")
		r.Record.write(w)
	}
	return w.Buf
}
