//go:build wasip1

package main

import "wasmgate/go-plugins/kit"

//go:wasmexport aggregate
func aggregate() int32 { return kit.Run(handle) }

// A reactor (-buildmode=c-shared): main never runs; the runtime calls _initialize once per instance.
func main() {}
