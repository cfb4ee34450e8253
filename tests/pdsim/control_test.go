package pdsim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestInjectFailureToken(t *testing.T) {
	env := newTestEnv(t)
	env.sim.InjectFailure(Failure{
		Endpoint: EndpointToken,
		Status:   http.StatusServiceUnavailable,
		Body:     `{"error":"temporarily_unavailable"}`,
		Headers:  map[string]string{"Retry-After": "7"},
		Count:    1,
	})
	tokens := env.signInAndGetTokensAfterFailure(t)

	if s, _ := tokens["access_token"].(string); s == "" {
		t.Errorf("second token request did not succeed: %v", tokens)
	}
	if got := env.sim.TokenRequests(); got != 2 {
		t.Errorf("TokenRequests = %d, want 2", got)
	}
}

// signInAndGetTokensAfterFailure expects the first code exchange to hit the
// injected 503 and a second code flow to succeed.
func (e *testEnv) signInAndGetTokensAfterFailure(t *testing.T) map[string]any {
	t.Helper()
	pkce := newPKCE(t)
	code := e.authorizeCode(t, newBrowser(t), authorizeQuery(classicClientID, "read", "s1", pkce), ada.Email)

	resp, body := e.postToken(t, codeForm(classicClientID, code, pkce.verifier))
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("first request: status = %d, want 503", resp.StatusCode)
	}
	if body["error"] != "temporarily_unavailable" {
		t.Errorf("first request: body = %v, want the injected body", body)
	}
	if got := resp.Header.Get("Retry-After"); got != "7" {
		t.Errorf("first request: Retry-After = %q, want 7", got)
	}

	// The injected response did not use up the code.
	resp, body = e.postToken(t, codeForm(classicClientID, code, pkce.verifier))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("second request: status = %d, want 200; body %v", resp.StatusCode, body)
	}
	return body
}

func TestInjectFailureUntilCleared(t *testing.T) {
	env := newTestEnv(t)
	access := env.signInAndGetTokens(t, classicClientID, "read", ada)["access_token"].(string)
	env.sim.InjectFailure(Failure{Endpoint: EndpointUsersMe, Status: http.StatusInternalServerError, Body: `{"error":{"message":"boom","code":2001}}`})

	for i := range 3 {
		if resp, _ := env.getMe(t, access); resp.StatusCode != http.StatusInternalServerError {
			t.Errorf("request %d: status = %d, want 500", i+1, resp.StatusCode)
		}
	}
	env.sim.ClearFailures()

	if resp, _ := env.getMe(t, access); resp.StatusCode != http.StatusOK {
		t.Errorf("after ClearFailures: status = %d, want 200", resp.StatusCode)
	}
}

func TestInjectFailureOnlyAffectsItsEndpoint(t *testing.T) {
	env := newTestEnv(t)
	env.sim.InjectFailure(Failure{Endpoint: EndpointRevoke, Status: http.StatusBadGateway, Count: 1})

	tokens := env.signInAndGetTokens(t, classicClientID, "read", ada)

	if resp, _ := env.getMe(t, tokens["access_token"].(string)); resp.StatusCode != http.StatusOK {
		t.Errorf("/users/me status = %d, want 200", resp.StatusCode)
	}
	if env.sim.Stats().PendingFailures != 1 {
		t.Errorf("PendingFailures = %d, want 1", env.sim.Stats().PendingFailures)
	}
}

func TestInjectFailureDelayOnly(t *testing.T) {
	env := newTestEnv(t)
	access := env.signInAndGetTokens(t, classicClientID, "read", ada)["access_token"].(string)
	const delay = 150 * time.Millisecond
	env.sim.InjectFailure(Failure{Endpoint: EndpointUsersMe, Delay: delay, Count: 1})

	start := time.Now()
	resp, _ := env.getMe(t, access)
	elapsed := time.Since(start)

	if resp.StatusCode != http.StatusOK {
		t.Errorf("status = %d, want 200 after the delay", resp.StatusCode)
	}
	if elapsed < delay {
		t.Errorf("request took %s, want at least %s", elapsed, delay)
	}
}

func TestInjectFailureDelayClientTimeout(t *testing.T) {
	env := newTestEnv(t)
	env.sim.InjectFailure(Failure{Endpoint: EndpointToken, Delay: 5 * time.Second, Status: http.StatusOK})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, env.url+"/oauth/token", strings.NewReader("grant_type=refresh_token"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")

	start := time.Now()
	_, err := http.DefaultClient.Do(req)

	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error = %v, want the client deadline", err)
	}
	if elapsed := time.Since(start); elapsed > 2*time.Second {
		t.Errorf("request took %s, want the client to give up after 100ms", elapsed)
	}
}

func TestInjectFailurePanicsOnInvalid(t *testing.T) {
	env := newTestEnv(t)
	for _, f := range []Failure{
		{Endpoint: "tokens", Status: 500},
		{Endpoint: EndpointToken},
		{Endpoint: EndpointToken, Status: 42},
		{Endpoint: EndpointToken, Status: 500, Count: -1},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("InjectFailure(%+v) did not panic", f)
				}
			}()
			env.sim.InjectFailure(f)
		}()
	}
}

func TestControlRoutes(t *testing.T) {
	env := newTestEnv(t)
	post := func(path, body string) *http.Response {
		t.Helper()
		resp, err := http.Post(env.url+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		readBody(t, resp)
		return resp
	}

	if resp := post("/_sim/failures", `{"endpoint":"token","status":500,"body":"{}","delay_ms":1,"count":2}`); resp.StatusCode != http.StatusNoContent {
		t.Errorf("POST /_sim/failures: status = %d, want 204", resp.StatusCode)
	}
	if resp := post("/_sim/failures", `{"endpoint":"nope","status":500}`); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("POST /_sim/failures with unknown endpoint: status = %d, want 400", resp.StatusCode)
	}
	if resp := post("/_sim/failures", `{"endpoint":"token","status":500,"delay":5}`); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("POST /_sim/failures with unknown field: status = %d, want 400", resp.StatusCode)
	}
	resp, _ := postForm(t, http.DefaultClient, env.url+"/oauth/token", nil)
	if resp.StatusCode != http.StatusInternalServerError {
		t.Errorf("token after injected failure: status = %d, want 500", resp.StatusCode)
	}

	resp, body := get(t, http.DefaultClient, env.url+"/_sim/stats")
	var stats Stats
	if err := json.Unmarshal([]byte(body), &stats); err != nil {
		t.Fatalf("stats are not JSON: %q", body)
	}
	if stats.TokenRequests != 1 || stats.PendingFailures != 1 {
		t.Errorf("stats = %+v, want 1 token request and 1 pending failure", stats)
	}

	req, _ := http.NewRequest(http.MethodDelete, env.url+"/_sim/failures", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	readBody(t, resp)
	if resp.StatusCode != http.StatusNoContent || env.sim.Stats().PendingFailures != 0 {
		t.Errorf("DELETE /_sim/failures: status %d, %d pending; want 204 and none", resp.StatusCode, env.sim.Stats().PendingFailures)
	}
}

func TestControlRoutesConfigureSimulator(t *testing.T) {
	env := newTestEnv(t)
	post := func(path, body string) {
		t.Helper()
		resp, err := http.Post(env.url+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if text := readBody(t, resp); resp.StatusCode != http.StatusNoContent && resp.StatusCode != http.StatusOK {
			t.Fatalf("POST %s: status = %d; body %s", path, resp.StatusCode, text)
		}
	}
	post("/_sim/apps", `{"client_id":"cli","client_secret":"`+testSecret+`","redirect_uris":["`+testRedirectURI+`"]}`)
	post("/_sim/users", `{"id":"PLIN001","name":"Linus","email":"linus@example.com","subdomain":"acme","region":"eu"}`)
	post("/_sim/deny_description", `{"description":"nope <b>"}`)

	tokens := env.signInAndGetTokens(t, "cli", "read", User{Email: "linus@example.com"})
	_, me := env.getMe(t, tokens["access_token"].(string))
	if user, _ := me["user"].(map[string]any); user["id"] != "PLIN001" {
		t.Errorf("/users/me = %v, want the user added over HTTP", me)
	}

	post("/_sim/clock", `{"advance_ms":`+fmt.Sprint((30*24*time.Hour).Milliseconds())+`}`)
	if resp, _ := env.getMe(t, tokens["access_token"].(string)); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("after advancing the clock 30 days: status = %d, want 401", resp.StatusCode)
	}

	post("/_sim/revoke_all", `{"client_id":"cli"}`)
	resp, body := env.postToken(t, refreshForm("cli", tokens["refresh_token"].(string)))
	wantOAuthError(t, resp, body, http.StatusBadRequest, "invalid_grant")

	browser := newBrowser(t)
	_, requestID := env.openConsent(t, browser, authorizeQuery("cli", "read", "s1", newPKCE(t)), "linus@example.com")
	if got := env.decide(t, browser, requestID, "deny").Query().Get("error_description"); got != "nope <b>" {
		t.Errorf("error_description = %q, want the one set over HTTP", got)
	}
}
