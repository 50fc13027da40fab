//go:build !wasip1

package kit

import "fmt"

// Off wasip1 (for `go test` on the build machine) the host calls use
// package-level buffers: CallNative drives an export like the host would.

var (
	nativeInput  []byte
	nativeOutput []byte
)

// ReadInput returns the whole envelope of this call.
func ReadInput() []byte { return append([]byte(nil), nativeInput...) }

// WriteOutput sets this call's result bytes.
func WriteOutput(b []byte) { nativeOutput = append([]byte(nil), b...) }

// Log prints the line (native builds only).
func Log(level LogLevel, message string) { fmt.Printf("[%d] %s\n", level, message) }

// CallNative calls export with input as the host would and returns the output
// (nil when the plugin wrote none).
func CallNative(export func() int32, input []byte) []byte {
	nativeInput, nativeOutput = input, nil
	export()
	return nativeOutput
}
