// Per-endpoint plugin that aggregates two services into one answer
// (docs/outbound.md). First call: asks the gateway for GET users_url and
// GET orders_url (config_data), which it makes in parallel. Called again
// with both answers: 200 {"users":<users body>,"orders":<orders body>} when
// both answered 200 (each body embedded as it came: the services answer
// JSON), else 502 {"error":"<id> failed: <status N | error code>"} for the
// first that failed.
package main

import (
	"strconv"

	"wasmgate/go-plugins/kit"
)

var services = []string{"users", "orders"}

func handle(env *kit.Envelope, out *kit.Result) {
	if !env.IsContinuation() {
		for _, id := range services {
			out.Call(id, "GET", env.Spec.ConfigData.String(id+"_url", "")).Header("accept", "application/json")
		}
		return
	}
	body := []byte("{")
	for i, id := range services {
		a, ok := env.Answer(id)
		if !ok || !a.OK() || a.Status != 200 {
			why := "no answer"
			if ok && a.OK() {
				why = "status " + strconv.FormatInt(a.Status, 10)
			} else if ok {
				why = a.Error
			}
			out.RespondError(502, id+" failed: "+why)
			return
		}
		if i > 0 {
			body = append(body, ',')
		}
		body = append(body, `"`+kit.JSONEscape(id)+`":`...)
		body = append(body, a.Body...)
	}
	out.Respond(200, append(body, '}'), kit.OneHeader("content-type", "application/json"))
}
