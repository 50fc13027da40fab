// auth hook: validates a bearer token against config_data.tokens and
// returns a session with rate, quota, metadata.token and an
// id_extractor_deadline, so the gateway caches it (Tyk's ID extractor).
package main

import (
	"strings"

	"wasmgate/go-plugins/kit"
)

func handle(env *kit.Envelope, out *kit.Result) {
	header, _ := env.Request.Header("authorization")
	token := strings.TrimPrefix(header, "Bearer ")
	if token == "" {
		out.RespondError(401, "missing credential")
		return
	}
	config := env.Spec.ConfigData
	tokens := config.Map("tokens")
	if !tokens.Has(token) {
		out.RespondError(403, "invalid token")
		return
	}
	user := tokens.String(token, "")
	quotaMax := config.Int("quota_max", -1)
	out.Request.AddHeader("x-wasmgate-trace", "auth")
	out.SetSession(kit.NewSession().
		Rate(config.Float("rate", 100)).
		Per(config.Float("per", 60)).
		QuotaMax(quotaMax).
		QuotaRemaining(quotaMax).
		QuotaRenewalRate(3600).
		Metadata("token", token).
		Metadata("user", user).
		IDExtractorDeadline(env.Metadata.Time + config.Int("cache_seconds", 60)))
}
