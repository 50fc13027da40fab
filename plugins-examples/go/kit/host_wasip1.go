//go:build wasip1

package kit

import "unsafe"

// The wasmgate:host/v1 fast path (docs/abi.md §2): the envelope comes in
// with one host call and the result goes out with one.

//go:wasmimport wasmgate:host/v1 input_length
func hostInputLength() int32

//go:wasmimport wasmgate:host/v1 input_read
func hostInputRead(dst unsafe.Pointer)

//go:wasmimport wasmgate:host/v1 output_write
func hostOutputWrite(src unsafe.Pointer, n int32)

//go:wasmimport wasmgate:host/v1 log
func hostLog(level int32, src unsafe.Pointer, n int32)

// ReadInput returns the whole envelope of this call.
func ReadInput() []byte {
	n := hostInputLength()
	if n <= 0 {
		return nil
	}
	buf := make([]byte, n)
	hostInputRead(unsafe.Pointer(&buf[0]))
	return buf
}

// WriteOutput sets this call's result bytes.
func WriteOutput(b []byte) {
	if len(b) == 0 {
		return
	}
	hostOutputWrite(unsafe.Pointer(&b[0]), int32(len(b)))
}

// Log writes one log line (the host caps and escapes it).
func Log(level LogLevel, message string) {
	if len(message) == 0 {
		return
	}
	b := []byte(message)
	hostLog(int32(level), unsafe.Pointer(&b[0]), int32(len(b)))
}
