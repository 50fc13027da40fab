module wasmgate/go-plugins

go 1.24
