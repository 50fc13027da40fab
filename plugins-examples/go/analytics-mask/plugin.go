// analytics hook: masks the value of every Authorization header line in the
// recorded raw request (base64) as "****". Nothing to mask → no changes.
package main

import (
	"bytes"

	"wasmgate/go-plugins/kit"
)

var name = []byte("authorization")

// isAuthorizationLine reports whether line begins with "authorization:" in any case.
func isAuthorizationLine(line []byte) bool {
	return len(line) > len(name) && bytes.EqualFold(line[:len(name)], name) && line[len(name)] == ':'
}

// mask returns the masked recording, or nil when no header line needed masking.
func mask(raw []byte) []byte {
	out := make([]byte, 0, len(raw)+16)
	changed := false
	for start := 0; start < len(raw); {
		// One line, up to its CRLF (or the end of the recording).
		end := start
		for end < len(raw) && !(raw[end] == '\r' && end+1 < len(raw) && raw[end+1] == '\n') {
			end++
		}
		next := end
		if end < len(raw) {
			next = end + 2
		}
		if end == start {
			// The blank line: the rest is the body, copied as is.
			out = append(out, raw[start:]...)
			break
		}
		line := raw[start:end]
		if isAuthorizationLine(line) {
			out = append(out, line[:len(name)+1]...)
			out = append(out, " ****"...)
			changed = true
		} else {
			out = append(out, line...)
		}
		out = append(out, raw[end:next]...)
		start = next
	}
	if !changed {
		return nil
	}
	return out
}

func handle(env *kit.Envelope, out *kit.Result) {
	if env.Record == nil {
		return
	}
	encoded := env.Record.String("raw_request", "")
	if encoded == "" {
		return
	}
	raw, ok := kit.Base64Decode(encoded)
	if !ok {
		return
	}
	if masked := mask(raw); masked != nil {
		out.Record.SetString("raw_request", kit.Base64Encode(masked))
	}
}
