package pdsim

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestCodeFlowWithPKCE(t *testing.T) {
	env := newTestEnv(t)
	pkce := newPKCE(t)
	code := env.authorizeCode(t, newBrowser(t), authorizeQuery(classicClientID, "write", "s1", pkce), ada.Email)

	resp, body := env.postToken(t, codeForm(classicClientID, code, pkce.verifier))

	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status = %d, want 200; body %v", resp.StatusCode, body)
	}
	if got := resp.Header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", got)
	}
	if got := resp.Header.Get("Content-Type"); got != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", got)
	}
	if body["token_type"] != "bearer" {
		t.Errorf("token_type = %v, want bearer", body["token_type"])
	}
	if body["scope"] != "openid write" {
		t.Errorf("scope = %v, want \"openid write\"", body["scope"])
	}
	if body["expires_in"] != float64(30*24*3600) {
		t.Errorf("expires_in = %v, want 30 days in seconds", body["expires_in"])
	}
	for _, field := range []string{"access_token", "refresh_token", "id_token", "client_info"} {
		if s, _ := body[field].(string); s == "" {
			t.Errorf("%s is missing or empty", field)
		}
	}
	if body["access_token"] == body["refresh_token"] {
		t.Error("access token equals refresh token")
	}
	if env.sim.ActiveAccessTokens() != 1 || env.sim.ActiveRefreshTokens() != 1 {
		t.Errorf("active tokens = %d access, %d refresh; want 1 and 1", env.sim.ActiveAccessTokens(), env.sim.ActiveRefreshTokens())
	}

	meResp, me := env.getMe(t, body["access_token"].(string))
	if meResp.StatusCode != http.StatusOK {
		t.Fatalf("/users/me status = %d, want 200; body %v", meResp.StatusCode, me)
	}
	if user, _ := me["user"].(map[string]any); user["id"] != ada.ID {
		t.Errorf("/users/me user = %v, want id %s", me["user"], ada.ID)
	}
}

func TestIDTokenClaims(t *testing.T) {
	env := newTestEnv(t)

	body := env.signInAndGetTokens(t, classicClientID, "read", ada)

	header, claims := decodeJWT(t, body["id_token"].(string))
	if header["alg"] != "none" || header["typ"] != "JWT" {
		t.Errorf("header = %v, want alg none and typ JWT", header)
	}
	want := map[string]any{
		"user_id":    ada.ID,
		"sub":        ada.ID,
		"account_id": ada.AccountID,
		"subdomain":  ada.Subdomain,
		"region":     "us",
		"iss":        env.url,
	}
	for name, value := range want {
		if claims[name] != value {
			t.Errorf("claim %s = %v, want %v", name, claims[name], value)
		}
	}
	aud, _ := claims["aud"].([]any)
	if len(aud) != 2 || aud[0] != "https://api.pagerduty.com" || aud[1] != classicClientID {
		t.Errorf("aud = %v, want [https://api.pagerduty.com %s]", claims["aud"], classicClientID)
	}
	now := env.clock.Now().Unix()
	if claims["iat"] != float64(now) {
		t.Errorf("iat = %v, want %d", claims["iat"], now)
	}
	if claims["exp"] != float64(now+30*24*3600) {
		t.Errorf("exp = %v, want iat plus 30 days", claims["exp"])
	}

	info := decodeSegment(t, body["client_info"].(string))
	if info["uid"] != ada.ID || info["utid"] != ada.AccountID {
		t.Errorf("client_info = %v, want uid %s and utid %s", info, ada.ID, ada.AccountID)
	}
}

func TestIDTokenEURegion(t *testing.T) {
	env := newTestEnv(t)

	body := env.signInAndGetTokens(t, classicClientID, "read", grace)

	_, claims := decodeJWT(t, body["id_token"].(string))
	aud, _ := claims["aud"].([]any)
	if len(aud) != 2 || aud[0] != "https://api.eu.pagerduty.com" {
		t.Errorf("aud = %v, want the EU API host first", claims["aud"])
	}
	if claims["region"] != "eu" {
		t.Errorf("region = %v, want eu", claims["region"])
	}
}

func TestScopedAppLifetimesAndScopes(t *testing.T) {
	env := newTestEnv(t)

	body := env.signInAndGetTokens(t, scopedClientID, "users.read incidents.write read", ada)

	if body["scope"] != "openid users.read incidents.write" {
		t.Errorf("scope = %v, want the granular scopes without classic read", body["scope"])
	}
	if body["expires_in"] != float64(24*3600) {
		t.Errorf("expires_in = %v, want 1 day in seconds", body["expires_in"])
	}

	env.clock.Advance(30*24*time.Hour - time.Second)
	resp, refreshed := env.postToken(t, refreshForm(scopedClientID, body["refresh_token"].(string)))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("refresh before 30 days: status = %d; body %v", resp.StatusCode, refreshed)
	}
	env.clock.Advance(30 * 24 * time.Hour)
	resp, expired := env.postToken(t, refreshForm(scopedClientID, refreshed["refresh_token"].(string)))
	wantOAuthError(t, resp, expired, http.StatusBadRequest, "invalid_grant")
}

func TestTokenWrongVerifier(t *testing.T) {
	env := newTestEnv(t)
	pkce := newPKCE(t)
	code := env.authorizeCode(t, newBrowser(t), authorizeQuery(classicClientID, "read", "s1", pkce), ada.Email)

	resp, body := env.postToken(t, codeForm(classicClientID, code, newPKCE(t).verifier))
	wantOAuthError(t, resp, body, http.StatusBadRequest, "invalid_grant")

	// The failed attempt used up the code, so the right verifier fails too.
	resp, body = env.postToken(t, codeForm(classicClientID, code, pkce.verifier))
	wantOAuthError(t, resp, body, http.StatusBadRequest, "invalid_grant")
	if env.sim.ActiveAccessTokens() != 0 {
		t.Errorf("ActiveAccessTokens = %d, want 0", env.sim.ActiveAccessTokens())
	}
}

func TestTokenVerifierPresenceMustMatchChallenge(t *testing.T) {
	env := newTestEnv(t)

	pkce := newPKCE(t)
	code := env.authorizeCode(t, newBrowser(t), authorizeQuery(classicClientID, "read", "s1", pkce), ada.Email)
	resp, body := env.postToken(t, codeForm(classicClientID, code, ""))
	wantOAuthError(t, resp, body, http.StatusBadRequest, "invalid_request")

	q := authorizeQuery(classicClientID, "read", "s1", pkcePair{})
	q.Del("code_challenge")
	q.Del("code_challenge_method")
	code = env.authorizeCode(t, newBrowser(t), q, ada.Email)
	resp, body = env.postToken(t, codeForm(classicClientID, code, pkce.verifier))
	wantOAuthError(t, resp, body, http.StatusBadRequest, "invalid_request")

	resp, body = env.postToken(t, codeForm(classicClientID, "any-code", "too-short"))
	wantOAuthError(t, resp, body, http.StatusBadRequest, "invalid_request")
}

func TestTokenReusedCodeRevokesTokens(t *testing.T) {
	env := newTestEnv(t)
	pkce := newPKCE(t)
	code := env.authorizeCode(t, newBrowser(t), authorizeQuery(classicClientID, "read", "s1", pkce), ada.Email)
	_, first := env.postToken(t, codeForm(classicClientID, code, pkce.verifier))
	if _, ok := first["access_token"].(string); !ok {
		t.Fatalf("first exchange failed: %v", first)
	}

	resp, second := env.postToken(t, codeForm(classicClientID, code, pkce.verifier))

	wantOAuthError(t, resp, second, http.StatusBadRequest, "invalid_grant")
	if meResp, _ := env.getMe(t, first["access_token"].(string)); meResp.StatusCode != http.StatusUnauthorized {
		t.Errorf("/users/me with the revoked access token: status = %d, want 401", meResp.StatusCode)
	}
	resp, refreshed := env.postToken(t, refreshForm(classicClientID, first["refresh_token"].(string)))
	wantOAuthError(t, resp, refreshed, http.StatusBadRequest, "invalid_grant")
	if env.sim.ActiveAccessTokens() != 0 || env.sim.ActiveRefreshTokens() != 0 {
		t.Errorf("active tokens = %d access, %d refresh; want none", env.sim.ActiveAccessTokens(), env.sim.ActiveRefreshTokens())
	}
}

func TestTokenExpiredCode(t *testing.T) {
	env := newTestEnv(t)

	pkce := newPKCE(t)
	code := env.authorizeCode(t, newBrowser(t), authorizeQuery(classicClientID, "read", "s1", pkce), ada.Email)
	env.clock.Advance(29 * time.Second)
	if resp, body := env.postToken(t, codeForm(classicClientID, code, pkce.verifier)); resp.StatusCode != http.StatusOK {
		t.Errorf("code after 29s: status = %d, want 200; body %v", resp.StatusCode, body)
	}

	pkce = newPKCE(t)
	code = env.authorizeCode(t, newBrowser(t), authorizeQuery(classicClientID, "read", "s1", pkce), ada.Email)
	env.clock.Advance(30 * time.Second)
	resp, body := env.postToken(t, codeForm(classicClientID, code, pkce.verifier))
	wantOAuthError(t, resp, body, http.StatusBadRequest, "invalid_grant")
	if desc, _ := body["error_description"].(string); !strings.Contains(desc, "expired") {
		t.Errorf("error_description = %q, want it to say expired", desc)
	}
}

func TestTokenCodeTTLOption(t *testing.T) {
	env := newTestEnv(t, func(o *Options) { o.CodeTTL = 5 * time.Second })
	pkce := newPKCE(t)
	code := env.authorizeCode(t, newBrowser(t), authorizeQuery(classicClientID, "read", "s1", pkce), ada.Email)
	env.clock.Advance(5 * time.Second)

	resp, body := env.postToken(t, codeForm(classicClientID, code, pkce.verifier))

	wantOAuthError(t, resp, body, http.StatusBadRequest, "invalid_grant")
}

func TestTokenRedirectURIMismatch(t *testing.T) {
	env := newTestEnv(t)
	pkce := newPKCE(t)
	code := env.authorizeCode(t, newBrowser(t), authorizeQuery(classicClientID, "read", "s1", pkce), ada.Email)
	form := codeForm(classicClientID, code, pkce.verifier)
	form.Set("redirect_uri", testRedirectURI+"/")

	resp, body := env.postToken(t, form)
	wantOAuthError(t, resp, body, http.StatusBadRequest, "invalid_grant")

	form.Del("redirect_uri")
	resp, body = env.postToken(t, form)
	wantOAuthError(t, resp, body, http.StatusBadRequest, "invalid_request")
}

func TestTokenCodeOfAnotherClient(t *testing.T) {
	env := newTestEnv(t)
	env.sim.AddApp(App{ClientID: "other", ClientSecret: testSecret, RedirectURIs: []string{testRedirectURI}})
	pkce := newPKCE(t)
	code := env.authorizeCode(t, newBrowser(t), authorizeQuery(classicClientID, "read", "s1", pkce), ada.Email)

	resp, body := env.postToken(t, codeForm("other", code, pkce.verifier))
	wantOAuthError(t, resp, body, http.StatusBadRequest, "invalid_grant")

	// The code still works for the client it was issued to.
	if resp, body := env.postToken(t, codeForm(classicClientID, code, pkce.verifier)); resp.StatusCode != http.StatusOK {
		t.Errorf("own client: status = %d, want 200; body %v", resp.StatusCode, body)
	}
}

func TestTokenBasicAuthRejected(t *testing.T) {
	env := newTestEnv(t)
	pkce := newPKCE(t)
	code := env.authorizeCode(t, newBrowser(t), authorizeQuery(classicClientID, "read", "s1", pkce), ada.Email)
	form := codeForm(classicClientID, code, pkce.verifier)
	form.Del("client_secret")
	req, err := http.NewRequest(http.MethodPost, env.url+"/oauth/token", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(classicClientID, testSecret)

	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body := readBody(t, resp)

	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("status = %d, want 401", resp.StatusCode)
	}
	if !strings.Contains(body, `"error":"invalid_client"`) {
		t.Errorf("body = %s, want invalid_client", body)
	}
}

func TestTokenClientAuthFailures(t *testing.T) {
	env := newTestEnv(t)
	tests := []struct {
		name   string
		modify func(url.Values)
	}{
		{"wrong secret", func(f url.Values) { f.Set("client_secret", "wrong") }},
		{"missing secret", func(f url.Values) { f.Del("client_secret") }},
		{"unknown client", func(f url.Values) { f.Set("client_id", "nobody") }},
		{"missing client", func(f url.Values) { f.Del("client_id") }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			form := codeForm(classicClientID, "some-code", "")
			tc.modify(form)

			resp, body := env.postToken(t, form)

			wantOAuthError(t, resp, body, http.StatusUnauthorized, "invalid_client")
		})
	}
}

func TestTokenRequestFormat(t *testing.T) {
	env := newTestEnv(t)
	valid := codeForm(classicClientID, "some-code", "").Encode()
	tests := []struct {
		name        string
		path        string
		contentType string
		body        string
		wantStatus  int
		wantError   string
	}{
		{"json body", "/oauth/token", "application/json", `{"grant_type":"authorization_code"}`, 400, "invalid_request"},
		{"no content type", "/oauth/token", "", valid, 400, "invalid_request"},
		{"query parameters", "/oauth/token?client_secret=" + testSecret, "application/x-www-form-urlencoded", valid, 400, "invalid_request"},
		{"repeated parameter", "/oauth/token", "application/x-www-form-urlencoded", valid + "&code=again", 400, "invalid_request"},
		{"missing grant type", "/oauth/token", "application/x-www-form-urlencoded", "client_id=" + classicClientID + "&client_secret=" + testSecret, 400, "invalid_request"},
		{"unsupported grant type", "/oauth/token", "application/x-www-form-urlencoded", "grant_type=password&client_id=" + classicClientID + "&client_secret=" + testSecret, 400, "unsupported_grant_type"},
		{"unknown code", "/oauth/token", "application/x-www-form-urlencoded", valid, 400, "invalid_grant"},
		{"charset parameter", "/oauth/token", "application/x-www-form-urlencoded; charset=utf-8", valid, 400, "invalid_grant"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := http.Post(env.url+tc.path, tc.contentType, strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			body := readBody(t, resp)

			if resp.StatusCode != tc.wantStatus {
				t.Errorf("status = %d, want %d; body %s", resp.StatusCode, tc.wantStatus, body)
			}
			if !strings.Contains(body, `"error":"`+tc.wantError+`"`) {
				t.Errorf("body = %s, want error %s", body, tc.wantError)
			}
		})
	}
}

func TestTokenWrongMethod(t *testing.T) {
	env := newTestEnv(t)

	resp, _ := get(t, http.DefaultClient, env.url+"/oauth/token")

	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("status = %d, want 405", resp.StatusCode)
	}
	if got := resp.Header.Get("Allow"); got != "POST" {
		t.Errorf("Allow = %q, want POST", got)
	}
	if env.sim.TokenRequests() != 0 {
		t.Errorf("TokenRequests = %d, want 0 for a GET", env.sim.TokenRequests())
	}
}

func TestInvalidScopeGrantsOnlyOpenID(t *testing.T) {
	env := newTestEnv(t)

	for _, tc := range []struct{ clientID, scope string }{
		{classicClientID, "users.read"},
		{classicClientID, "bogus"},
		{scopedClientID, "read write"},
		{scopedClientID, "unknown.read users.delete"},
	} {
		body := env.signInAndGetTokens(t, tc.clientID, tc.scope, ada)

		if body["scope"] != "openid" {
			t.Errorf("%s %q: scope = %v, want openid", tc.clientID, tc.scope, body["scope"])
		}
		resp, me := env.getMe(t, body["access_token"].(string))
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s %q: /users/me status = %d, want 403", tc.clientID, tc.scope, resp.StatusCode)
		}
		apiErr := apiErrorOf(t, me)
		if apiErr["message"] != "Token missing required scopes" || apiErr["code"] != float64(0) {
			t.Errorf("%s %q: error = %v, want the missing-scopes error", tc.clientID, tc.scope, apiErr)
		}
		if scopes, _ := apiErr["required_scopes"].([]any); len(scopes) != 1 || scopes[0] != "users.read" {
			t.Errorf("%s %q: required_scopes = %v, want [users.read]", tc.clientID, tc.scope, apiErr["required_scopes"])
		}
	}
}

func TestRefreshRotatesRefreshToken(t *testing.T) {
	env := newTestEnv(t)
	first := env.signInAndGetTokens(t, classicClientID, "read", ada)
	env.clock.Advance(time.Hour)

	resp, second := env.postToken(t, refreshForm(classicClientID, first["refresh_token"].(string)))

	if resp.StatusCode != http.StatusOK {
		t.Fatalf("refresh status = %d, want 200; body %v", resp.StatusCode, second)
	}
	if second["refresh_token"] == first["refresh_token"] || second["access_token"] == first["access_token"] {
		t.Error("refresh returned an old token")
	}
	if second["scope"] != "openid read" {
		t.Errorf("scope = %v, want \"openid read\"", second["scope"])
	}
	if s, _ := second["id_token"].(string); s == "" {
		t.Error("refresh response has no id_token")
	}

	resp, old := env.postToken(t, refreshForm(classicClientID, first["refresh_token"].(string)))
	wantOAuthError(t, resp, old, http.StatusBadRequest, "invalid_grant")

	if meResp, _ := env.getMe(t, second["access_token"].(string)); meResp.StatusCode != http.StatusOK {
		t.Errorf("new access token: /users/me status = %d, want 200", meResp.StatusCode)
	}
	if meResp, _ := env.getMe(t, first["access_token"].(string)); meResp.StatusCode != http.StatusOK {
		t.Errorf("old access token: /users/me status = %d, want 200 until it expires", meResp.StatusCode)
	}

	resp, third := env.postToken(t, refreshForm(classicClientID, second["refresh_token"].(string)))
	if resp.StatusCode != http.StatusOK {
		t.Errorf("second refresh status = %d, want 200; body %v", resp.StatusCode, third)
	}
	if env.sim.ActiveRefreshTokens() != 1 {
		t.Errorf("ActiveRefreshTokens = %d, want 1", env.sim.ActiveRefreshTokens())
	}
}

func TestRefreshRejections(t *testing.T) {
	env := newTestEnv(t)
	env.sim.AddApp(App{ClientID: "other", ClientSecret: testSecret, RedirectURIs: []string{testRedirectURI}})
	tokens := env.signInAndGetTokens(t, classicClientID, "read write", ada)
	refreshToken := tokens["refresh_token"].(string)

	resp, body := env.postToken(t, refreshForm("other", refreshToken))
	wantOAuthError(t, resp, body, http.StatusBadRequest, "invalid_grant")

	resp, body = env.postToken(t, refreshForm(classicClientID, "not-a-token"))
	wantOAuthError(t, resp, body, http.StatusBadRequest, "invalid_grant")

	form := refreshForm(classicClientID, "")
	resp, body = env.postToken(t, form)
	wantOAuthError(t, resp, body, http.StatusBadRequest, "invalid_request")

	form = refreshForm(classicClientID, refreshToken)
	form.Set("scope", "read incidents.write")
	resp, body = env.postToken(t, form)
	wantOAuthError(t, resp, body, http.StatusBadRequest, "invalid_scope")

	form.Set("scope", "read")
	resp, body = env.postToken(t, form)
	if resp.StatusCode != http.StatusOK || body["scope"] != "openid read" {
		t.Errorf("narrowed refresh: status %d, scope %v; want 200 and \"openid read\"", resp.StatusCode, body["scope"])
	}
}

func TestRefreshTokenExpires(t *testing.T) {
	env := newTestEnv(t, func(o *Options) {
		o.AccessTokenTTL = time.Minute
		o.RefreshTokenTTL = time.Hour
	})
	tokens := env.signInAndGetTokens(t, classicClientID, "read", ada)
	if tokens["expires_in"] != float64(60) {
		t.Errorf("expires_in = %v, want 60", tokens["expires_in"])
	}
	env.clock.Advance(time.Hour)

	resp, body := env.postToken(t, refreshForm(classicClientID, tokens["refresh_token"].(string)))

	wantOAuthError(t, resp, body, http.StatusBadRequest, "invalid_grant")
}

func TestTokenRequestsCounted(t *testing.T) {
	env := newTestEnv(t)
	tokens := env.signInAndGetTokens(t, classicClientID, "read", ada)
	env.postToken(t, refreshForm(classicClientID, tokens["refresh_token"].(string)))
	env.postToken(t, refreshForm(classicClientID, "bad"))

	if got := env.sim.TokenRequests(); got != 3 {
		t.Errorf("TokenRequests = %d, want 3", got)
	}
}
