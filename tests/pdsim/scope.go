package pdsim

import "strings"

// scopeOpenID is granted with every token, even when no requested scope is valid.
const scopeOpenID = "openid"

// scopedResources are the resources whose granular scopes (resource.read and
// resource.write) the simulator accepts for scoped apps. PagerDuty has more;
// these are the ones the plugin could plausibly request.
var scopedResources = []string{
	"abilities",
	"escalation_policies",
	"incidents",
	"oncalls",
	"schedules",
	"services",
	"teams",
	"users",
}

// parseScope splits a space-separated scope parameter (RFC 6749 §3.3) and
// drops duplicates, keeping the first occurrence's order.
func parseScope(scope string) []string {
	var scopes []string
	seen := make(map[string]bool)
	for _, s := range strings.Fields(scope) {
		if seen[s] {
			continue
		}
		seen[s] = true
		scopes = append(scopes, s)
	}
	return scopes
}

// isValidScope reports whether scope may be granted to an app of the given
// kind. Classic apps use read and write, and scoped apps use granular scopes.
func isValidScope(scope string, scoped bool) bool {
	if scope == scopeOpenID {
		return true
	}
	if !scoped {
		return scope == "read" || scope == "write"
	}
	resource, access, ok := strings.Cut(scope, ".")
	if !ok || (access != "read" && access != "write") {
		return false
	}
	for _, r := range scopedResources {
		if r == resource {
			return true
		}
	}
	return false
}

// grantedScopes returns openid followed by the valid requested scopes. PagerDuty
// does not reject an invalid scope at authorize time. It drops it, so a request
// with only invalid scopes yields a token with only openid.
func grantedScopes(requested []string, scoped bool) []string {
	granted := []string{scopeOpenID}
	for _, s := range requested {
		if s != scopeOpenID && isValidScope(s, scoped) {
			granted = append(granted, s)
		}
	}
	return granted
}

// coversScope reports whether the granted scopes allow the required scope,
// such as "users.read". The classic scope write implies read, and read covers
// reading every resource. A granular write scope implies its read scope.
func coversScope(granted []string, required string) bool {
	resource, access, _ := strings.Cut(required, ".")
	for _, g := range granted {
		switch {
		case g == required:
			return true
		case g == "write":
			return true
		case g == "read" && access == "read":
			return true
		case g == resource+".write" && access == "read":
			return true
		}
	}
	return false
}
