// response hook: rewrites an internal Location to the external URL
// (config_data.internal_url → external_url) and adds two Set-Cookie values.
package main

import (
	"strings"

	"wasmgate/go-plugins/kit"
)

func handle(env *kit.Envelope, out *kit.Result) {
	config := env.Spec.ConfigData
	internal := config.String("internal_url", "")
	external := config.String("external_url", "")
	if env.Response != nil {
		if location, ok := env.Response.Header("location"); ok && internal != "" && strings.HasPrefix(location, internal) {
			out.Response.SetHeader("location", external+location[len(internal):])
		}
	}
	out.Response.AddHeader("set-cookie", "wg_session="+env.Metadata.RequestID+"; HttpOnly; Secure")
	out.Response.AddHeader("set-cookie", "wg_lang=en-US; Secure")
}
