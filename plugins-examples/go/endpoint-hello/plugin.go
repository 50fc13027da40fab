// Per-endpoint plugin that answers by itself (a virtual endpoint):
// 200 {"hello":"<name>","path":"<url>"} — name from the first `name` query
// parameter, else "world".
package main

import "wasmgate/go-plugins/kit"

func handle(env *kit.Envelope, out *kit.Result) {
	name, ok := env.Request.Query("name")
	if !ok {
		name = "world"
	}
	body := `{"hello":"` + kit.JSONEscape(name) + `","path":"` + kit.JSONEscape(env.Request.URL) + `"}`
	out.Respond(200, []byte(body), kit.OneHeader("content-type", "application/json"))
}
