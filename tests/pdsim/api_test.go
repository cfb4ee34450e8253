package pdsim

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestUsersMeReturnsUser(t *testing.T) {
	env := newTestEnv(t)
	tokens := env.signInAndGetTokens(t, classicClientID, "read", ada)

	resp, body := env.getMe(t, tokens["access_token"].(string))

	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status = %d, want 200; body %v", resp.StatusCode, body)
	}
	if got := resp.Header.Get("Content-Type"); got != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", got)
	}
	user, _ := body["user"].(map[string]any)
	want := map[string]any{
		"id":        ada.ID,
		"type":      "user",
		"summary":   ada.Name,
		"name":      ada.Name,
		"email":     ada.Email,
		"time_zone": ada.TimeZone,
		"role":      ada.Role,
		"self":      "https://api.pagerduty.com/users/" + ada.ID,
		"html_url":  "https://acme.pagerduty.com/users/" + ada.ID,
	}
	for name, value := range want {
		if user[name] != value {
			t.Errorf("user.%s = %v, want %v", name, user[name], value)
		}
	}
	if avatar, _ := user["avatar_url"].(string); !strings.HasPrefix(avatar, "https://") {
		t.Errorf("avatar_url = %v, want an https URL", user["avatar_url"])
	}
	if teams, ok := user["teams"].([]any); !ok || len(teams) != 0 {
		t.Errorf("teams = %v, want an empty array", user["teams"])
	}
}

func TestUsersMeEURegionAndNullTimeZone(t *testing.T) {
	env := newTestEnv(t)
	tokens := env.signInAndGetTokens(t, classicClientID, "read", grace)

	_, body := env.getMe(t, tokens["access_token"].(string))

	user, _ := body["user"].(map[string]any)
	if user["html_url"] != "https://navy.eu.pagerduty.com/users/"+grace.ID {
		t.Errorf("html_url = %v, want the EU web host", user["html_url"])
	}
	if user["self"] != "https://api.eu.pagerduty.com/users/"+grace.ID {
		t.Errorf("self = %v, want the EU API host", user["self"])
	}
	if tz, present := user["time_zone"]; !present || tz != nil {
		t.Errorf("time_zone = %v (present %v), want null", tz, present)
	}
	if user["role"] != "user" {
		t.Errorf("role = %v, want the default user", user["role"])
	}
}

func TestUsersMeAuthenticationFailures(t *testing.T) {
	env := newTestEnv(t)
	tokens := env.signInAndGetTokens(t, classicClientID, "read", ada)
	access := tokens["access_token"].(string)

	for name, header := range map[string]string{
		"missing":       "",
		"unknown token": "Bearer not-a-token",
		"token scheme":  "Token token=" + access,
		"empty bearer":  "Bearer ",
	} {
		req, _ := http.NewRequest(http.MethodGet, env.url+"/users/me", nil)
		if header != "" {
			req.Header.Set("Authorization", header)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body := readBody(t, resp)

		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s: status = %d, want 401", name, resp.StatusCode)
		}
		if body != `{"error":{"message":"Authentication failed","code":2006}}` {
			t.Errorf("%s: body = %s, want the authentication error", name, body)
		}
	}

	req, _ := http.NewRequest(http.MethodGet, env.url+"/users/me", nil)
	req.Header.Set("Authorization", "bearer "+access)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("lower-case bearer scheme: response %v, error %v; want 200", resp, err)
	}
}

func TestUsersMeExpiredToken(t *testing.T) {
	env := newTestEnv(t)
	tokens := env.signInAndGetTokens(t, classicClientID, "read", ada)
	access := tokens["access_token"].(string)

	env.clock.Advance(30*24*time.Hour - time.Second)
	if resp, _ := env.getMe(t, access); resp.StatusCode != http.StatusOK {
		t.Errorf("before expiry: status = %d, want 200", resp.StatusCode)
	}

	env.clock.Advance(time.Second)
	resp, body := env.getMe(t, access)
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("after expiry: status = %d, want 401", resp.StatusCode)
	}
	if apiErrorOf(t, body)["code"] != float64(2006) {
		t.Errorf("after expiry: body = %v, want code 2006", body)
	}
	if env.sim.ActiveAccessTokens() != 0 {
		t.Errorf("ActiveAccessTokens = %d, want 0", env.sim.ActiveAccessTokens())
	}
}

func TestUsersMeScopeCoverage(t *testing.T) {
	env := newTestEnv(t)
	tests := []struct {
		clientID string
		scope    string
		want     int
	}{
		{classicClientID, "read", http.StatusOK},
		{classicClientID, "write", http.StatusOK},
		{scopedClientID, "users.read", http.StatusOK},
		{scopedClientID, "users.write", http.StatusOK},
		{scopedClientID, "incidents.read", http.StatusForbidden},
		{scopedClientID, "teams.write", http.StatusForbidden},
	}
	for _, tc := range tests {
		tokens := env.signInAndGetTokens(t, tc.clientID, tc.scope, ada)

		resp, body := env.getMe(t, tokens["access_token"].(string))

		if resp.StatusCode != tc.want {
			t.Errorf("%s %q: status = %d, want %d; body %v", tc.clientID, tc.scope, resp.StatusCode, tc.want, body)
		}
	}
}

func TestUsersMeRecordsAccept(t *testing.T) {
	env := newTestEnv(t)
	tokens := env.signInAndGetTokens(t, classicClientID, "read", ada)

	env.getMe(t, tokens["access_token"].(string))
	if got := env.sim.LastAPIAccept(); got != AcceptV2 {
		t.Errorf("LastAPIAccept = %q, want %q", got, AcceptV2)
	}

	req, _ := http.NewRequest(http.MethodGet, env.url+"/users/me", nil)
	req.Header.Set("Authorization", "Bearer "+tokens["access_token"].(string))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	readBody(t, resp)
	if resp.StatusCode != http.StatusOK {
		t.Errorf("without Accept: status = %d, want 200", resp.StatusCode)
	}
	if got := env.sim.LastAPIAccept(); got != "" {
		t.Errorf("LastAPIAccept = %q, want empty", got)
	}
	if got := env.sim.APIRequests(); got != 2 {
		t.Errorf("APIRequests = %d, want 2", got)
	}
}

func TestRateLimit(t *testing.T) {
	env := newTestEnv(t)
	adaTokens := env.signInAndGetTokens(t, classicClientID, "read", ada)
	graceTokens := env.signInAndGetTokens(t, classicClientID, "read", grace)
	access := adaTokens["access_token"].(string)

	for i := 1; i <= 960; i++ {
		resp, body := env.getMe(t, access)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("request %d: status = %d, want 200; body %v", i, resp.StatusCode, body)
		}
		if i == 1 || i == 960 {
			if got := resp.Header.Get("ratelimit-limit"); got != "960" {
				t.Errorf("request %d: ratelimit-limit = %q, want 960", i, got)
			}
			if got := resp.Header.Get("ratelimit-remaining"); got != strconv.Itoa(960-i) {
				t.Errorf("request %d: ratelimit-remaining = %q, want %d", i, got, 960-i)
			}
			if got := resp.Header.Get("ratelimit-reset"); got != "60" {
				t.Errorf("request %d: ratelimit-reset = %q, want 60", i, got)
			}
		}
	}

	resp, body := env.getMe(t, access)
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("request 961: status = %d, want 429", resp.StatusCode)
	}
	if apiErr := apiErrorOf(t, body); apiErr["message"] != "Rate Limit Exceeded" || apiErr["code"] != float64(2020) {
		t.Errorf("request 961: error = %v, want the rate-limit error", apiErr)
	}

	if resp, _ := env.getMe(t, graceTokens["access_token"].(string)); resp.StatusCode != http.StatusOK {
		t.Errorf("another user: status = %d, want 200", resp.StatusCode)
	}

	env.clock.Advance(20 * time.Second)
	resp, _ = env.getMe(t, access)
	if got := resp.Header.Get("ratelimit-reset"); got != "40" {
		t.Errorf("after 20s: ratelimit-reset = %q, want 40", got)
	}
	env.clock.Advance(40 * time.Second)
	if resp, _ := env.getMe(t, access); resp.StatusCode != http.StatusOK {
		t.Errorf("next window: status = %d, want 200", resp.StatusCode)
	}
}

func TestRateLimitOption(t *testing.T) {
	env := newTestEnv(t, func(o *Options) { o.RateLimit = 2 })
	access := env.signInAndGetTokens(t, classicClientID, "read", ada)["access_token"].(string)

	var statuses []int
	for range 3 {
		resp, _ := env.getMe(t, access)
		statuses = append(statuses, resp.StatusCode)
	}

	if statuses[0] != 200 || statuses[1] != 200 || statuses[2] != 429 {
		t.Errorf("statuses = %v, want [200 200 429]", statuses)
	}
}

func TestUnknownPathNotFound(t *testing.T) {
	env := newTestEnv(t)

	resp, body := get(t, http.DefaultClient, env.url+"/incidents")

	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("status = %d, want 404", resp.StatusCode)
	}
	var decoded map[string]map[string]any
	if err := json.Unmarshal([]byte(body), &decoded); err != nil || decoded["error"]["code"] != float64(2100) {
		t.Errorf("body = %s, want code 2100", body)
	}
}
