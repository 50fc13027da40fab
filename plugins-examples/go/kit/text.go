package kit

// Text helpers plugins need: base64 (standard alphabet, padded) and JSON
// string escaping, with exactly the rules of the other wasmgate kits.

const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

// Base64Encode encodes standard, padded base64.
func Base64Encode(data []byte) string {
	out := make([]byte, 0, (len(data)+2)/3*4)
	i := 0
	for ; i+2 < len(data); i += 3 {
		v := uint32(data[i])<<16 | uint32(data[i+1])<<8 | uint32(data[i+2])
		out = append(out, alphabet[v>>18&63], alphabet[v>>12&63], alphabet[v>>6&63], alphabet[v&63])
	}
	if rest := len(data) - i; rest > 0 {
		v := uint32(data[i]) << 16
		if rest == 2 {
			v |= uint32(data[i+1]) << 8
		}
		out = append(out, alphabet[v>>18&63], alphabet[v>>12&63])
		if rest == 2 {
			out = append(out, alphabet[v>>6&63])
		} else {
			out = append(out, '=')
		}
		out = append(out, '=')
	}
	return string(out)
}

func sextet(c byte) int {
	switch {
	case c >= 'A' && c <= 'Z':
		return int(c - 'A')
	case c >= 'a' && c <= 'z':
		return int(c-'a') + 26
	case c >= '0' && c <= '9':
		return int(c-'0') + 52
	case c == '+':
		return 62
	case c == '/':
		return 63
	}
	return -1
}

// Base64Decode decodes standard base64 (trailing '=' optional); ok is false when text is not base64.
func Base64Decode(text string) (out []byte, ok bool) {
	n := len(text)
	for n > 0 && text[n-1] == '=' {
		n--
	}
	if n%4 == 1 {
		return nil, false
	}
	out = make([]byte, 0, n*3/4)
	var acc uint32
	bits := 0
	for i := 0; i < n; i++ {
		v := sextet(text[i])
		if v < 0 {
			return nil, false
		}
		acc = acc<<6 | uint32(v)
		bits += 6
		if bits >= 8 {
			bits -= 8
			out = append(out, byte(acc>>bits))
		}
	}
	return out, true
}

// JSONEscape escapes text for a JSON string: '"' and '\' with a backslash,
// bytes below 0x20 as \u00xx (lower-case hex); nothing else (UTF-8 passes through).
func JSONEscape(s string) string {
	const hex = "0123456789abcdef"
	out := make([]byte, 0, len(s)+8)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"':
			out = append(out, '\\', '"')
		case c == '\\':
			out = append(out, '\\', '\\')
		case c < 0x20:
			out = append(out, '\\', 'u', '0', '0', hex[c>>4], hex[c&15])
		default:
			out = append(out, c)
		}
	}
	return string(out)
}
