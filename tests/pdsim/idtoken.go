package pdsim

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"time"
)

// buildIDToken returns an unsigned JWT with PagerDuty's documented claims.
// ASSUMPTION: the token is unsigned ({"alg":"none"} and an empty signature),
// because clients receive it straight from the token endpoint over TLS and
// need not verify it. PagerDuty's real ID tokens may be signed.
// ASSUMPTION: iss is the simulator's base URL because PagerDuty's documented
// issuer values disagree. sub is the user id, and the ID token expires with
// the access token.
func buildIDToken(user User, clientID, issuer string, now time.Time, ttl time.Duration) string {
	header := map[string]string{"alg": "none", "typ": "JWT"}
	claims := map[string]any{
		"iss":        issuer,
		"sub":        user.ID,
		"aud":        []string{apiBaseURL(user.Region), clientID},
		"iat":        now.Unix(),
		"exp":        now.Add(ttl).Unix(),
		"user_id":    user.ID,
		"account_id": user.AccountID,
		"subdomain":  user.Subdomain,
		"region":     user.Region,
	}
	return encodeJSONSegment(header) + "." + encodeJSONSegment(claims) + "."
}

// buildClientInfo returns the client_info value.
// ASSUMPTION: PagerDuty does not document client_info, so the simulator sends
// base64url JSON without padding with uid (the user id) and utid (the account id).
func buildClientInfo(user User) string {
	return encodeJSONSegment(map[string]string{"uid": user.ID, "utid": user.AccountID})
}

func encodeJSONSegment(v any) string {
	data, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("pdsim: encoding a JWT segment failed: %v", err))
	}
	return base64.RawURLEncoding.EncodeToString(data)
}
