package pdsim

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestAuthorizeRejectsInvalidRequests(t *testing.T) {
	env := newTestEnv(t)
	pkce := newPKCE(t)

	tests := []struct {
		name   string
		modify func(q url.Values)
		want   string // part of the error message
	}{
		{"unknown client", func(q url.Values) { q.Set("client_id", "nobody") }, "no app has the client id"},
		{"missing client", func(q url.Values) { q.Del("client_id") }, "client_id parameter is missing"},
		{"redirect trailing slash", func(q url.Values) { q.Set("redirect_uri", testRedirectURI+"/") }, "is not registered"},
		{"redirect other case", func(q url.Values) { q.Set("redirect_uri", strings.ToUpper(testRedirectURI)) }, "is not registered"},
		{"redirect extra query", func(q url.Values) { q.Set("redirect_uri", testRedirectURI+"?x=1") }, "is not registered"},
		{"missing redirect", func(q url.Values) { q.Del("redirect_uri") }, "redirect_uri parameter is missing"},
		{"response type token", func(q url.Values) { q.Set("response_type", "token") }, "response_type"},
		{"missing response type", func(q url.Values) { q.Del("response_type") }, "response_type"},
		{"missing scope", func(q url.Values) { q.Del("scope") }, "scope parameter is missing"},
		{"blank scope", func(q url.Values) { q.Set("scope", "  ") }, "scope parameter is missing"},
		{"plain method", func(q url.Values) { q.Set("code_challenge_method", "plain") }, "must be S256, not"},
		{"challenge without method", func(q url.Values) { q.Del("code_challenge_method") }, "without code_challenge_method"},
		{"method without challenge", func(q url.Values) { q.Del("code_challenge") }, "without a code_challenge"},
		{"malformed challenge", func(q url.Values) { q.Set("code_challenge", "short") }, "43 characters"},
		{"repeated parameter", func(q url.Values) { q.Add("state", "second") }, "is repeated"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q := authorizeQuery(classicClientID, "read", "s1", pkce)
			tc.modify(q)

			resp, page := get(t, newBrowser(t), env.url+"/oauth/authorize?"+q.Encode())

			if resp.StatusCode != http.StatusBadRequest {
				t.Errorf("status = %d, want 400", resp.StatusCode)
			}
			if loc := resp.Header.Get("Location"); loc != "" {
				t.Errorf("Location = %q, want no redirect", loc)
			}
			if !strings.Contains(page, "Authorization request rejected") {
				t.Errorf("page is not the error page:\n%s", page)
			}
			if !strings.Contains(page, tc.want) {
				t.Errorf("page does not contain %q:\n%s", tc.want, page)
			}
		})
	}
}

func TestAuthorizeScopedAppRequiresPKCE(t *testing.T) {
	env := newTestEnv(t)
	q := authorizeQuery(scopedClientID, "users.read", "s1", pkcePair{})
	q.Del("code_challenge")
	q.Del("code_challenge_method")

	resp, page := get(t, newBrowser(t), env.url+"/oauth/authorize?"+q.Encode())

	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("status = %d, want 400", resp.StatusCode)
	}
	if !strings.Contains(page, "must use PKCE") {
		t.Errorf("page does not name PKCE:\n%s", page)
	}
}

func TestAuthorizeClassicAppWithoutPKCE(t *testing.T) {
	env := newTestEnv(t)
	q := authorizeQuery(classicClientID, "read", "s1", pkcePair{})
	q.Del("code_challenge")
	q.Del("code_challenge_method")
	browser := newBrowser(t)

	code := env.authorizeCode(t, browser, q, ada.Email)
	resp, body := env.postToken(t, codeForm(classicClientID, code, ""))

	if resp.StatusCode != http.StatusOK {
		t.Errorf("token status = %d, want 200; body %v", resp.StatusCode, body)
	}
}

func TestAuthorizeInvalidScopeNotRejected(t *testing.T) {
	env := newTestEnv(t)
	q := authorizeQuery(classicClientID, "users.read bogus", "s1", newPKCE(t))

	page, _ := env.openConsent(t, newBrowser(t), q, ada.Email)

	if !strings.Contains(page, "bogus (not a valid scope") {
		t.Errorf("consent page does not flag the invalid scope:\n%s", page)
	}
}

func TestSignInPageShownWithoutCookie(t *testing.T) {
	env := newTestEnv(t)
	q := authorizeQuery(classicClientID, "read", "s1", newPKCE(t))

	resp, page := get(t, newBrowser(t), env.url+"/oauth/authorize?"+q.Encode())

	if resp.StatusCode != http.StatusOK {
		t.Errorf("status = %d, want 200", resp.StatusCode)
	}
	for _, want := range []string{
		"<title>Sign in – PagerDuty simulator</title>",
		`action="/sign_in"`,
		`id="email"`,
		`id="sign-in"`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("sign-in page does not contain %q", want)
		}
	}
	if got := hiddenInput(t, page, "return_to"); got != "/oauth/authorize?"+q.Encode() {
		t.Errorf("return_to = %q, want the authorize URL", got)
	}
}

func TestSignInUnknownEmail(t *testing.T) {
	env := newTestEnv(t)
	browser := newBrowser(t)
	form := url.Values{"email": {"<b>nobody</b>@example.com"}, "return_to": {"/oauth/authorize?client_id=x"}}

	resp, page := postForm(t, browser, env.url+"/sign_in", form)

	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("status = %d, want 401", resp.StatusCode)
	}
	if !strings.Contains(page, `id="error"`) || !strings.Contains(page, "No simulated PagerDuty user") {
		t.Errorf("page shows no error:\n%s", page)
	}
	if strings.Contains(page, "<b>nobody") {
		t.Errorf("page echoes the email unescaped:\n%s", page)
	}
	if cookies := resp.Cookies(); len(cookies) != 0 {
		t.Errorf("response sets cookies %v, want none", cookies)
	}
}

func TestSignInCookieAttributes(t *testing.T) {
	env := newTestEnv(t)
	form := url.Values{"email": {"ADA@example.com"}, "return_to": {"/oauth/authorize?client_id=x"}}

	resp, _ := postForm(t, newBrowser(t), env.url+"/sign_in", form)

	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("status = %d, want 303", resp.StatusCode)
	}
	if loc := resp.Header.Get("Location"); loc != "/oauth/authorize?client_id=x" {
		t.Errorf("Location = %q, want the return_to URL", loc)
	}
	cookies := resp.Cookies()
	if len(cookies) != 1 {
		t.Fatalf("got %d cookies, want 1", len(cookies))
	}
	c := cookies[0]
	if !c.HttpOnly {
		t.Error("cookie is not HttpOnly")
	}
	if c.SameSite != http.SameSiteLaxMode {
		t.Errorf("SameSite = %v, want Lax", c.SameSite)
	}
	if c.Domain != "" {
		t.Errorf("Domain = %q, want a host-only cookie", c.Domain)
	}
}

func TestSignInRejectsOpenRedirect(t *testing.T) {
	env := newTestEnv(t)

	for _, returnTo := range []string{"https://evil.example/oauth/authorize", "//evil.example/oauth/authorize", "/users/me"} {
		form := url.Values{"email": {ada.Email}, "return_to": {returnTo}}
		resp, page := postForm(t, newBrowser(t), env.url+"/sign_in", form)

		if resp.StatusCode != http.StatusOK {
			t.Errorf("return_to %q: status = %d, want 200 without redirect", returnTo, resp.StatusCode)
		}
		if !strings.Contains(page, "You are signed in as Ada Lovelace") {
			t.Errorf("return_to %q: page is not the signed-in page:\n%s", returnTo, page)
		}
	}
}

func TestConsentPageNamesAppAndUser(t *testing.T) {
	env := newTestEnv(t)
	env.sim.AddUser(User{ID: "PEVE001", Name: "<b>Eve</b>", Email: "eve@example.com", Subdomain: "acme"})
	q := authorizeQuery(classicClientID, "read write", "s1", newPKCE(t))

	page, requestID := env.openConsent(t, newBrowser(t), q, "eve@example.com")

	for _, want := range []string{
		classicClientID,
		"&lt;b&gt;Eve&lt;/b&gt;",
		"eve@example.com",
		"<li>read</li>",
		"<li>write</li>",
		`<button id="authorize" name="decision" value="authorize">Authorize</button>`,
		`<button id="deny" name="decision" value="deny">Deny</button>`,
		`action="/oauth/authorize/decision"`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("consent page does not contain %q", want)
		}
	}
	if strings.Contains(page, "<b>Eve</b>") {
		t.Error("consent page contains the user name unescaped")
	}
	if requestID == "" {
		t.Error("consent page has an empty request_id")
	}
}

func TestAuthorizeRedirectEchoesState(t *testing.T) {
	env := newTestEnv(t)
	browser := newBrowser(t)
	state := "a b&c=d/é"
	_, requestID := env.openConsent(t, browser, authorizeQuery(classicClientID, "read", state, newPKCE(t)), ada.Email)

	location := env.decide(t, browser, requestID, "authorize")

	if got := location.Scheme + "://" + location.Host + location.Path; got != testRedirectURI {
		t.Errorf("redirect target = %q, want %q", got, testRedirectURI)
	}
	if got := location.Query().Get("state"); got != state {
		t.Errorf("state = %q, want %q", got, state)
	}
	if location.Query().Get("code") == "" {
		t.Error("redirect has no code")
	}
	if env.sim.IssuedCodes() != 1 {
		t.Errorf("IssuedCodes = %d, want 1", env.sim.IssuedCodes())
	}
}

func TestAuthorizeRedirectOmitsAbsentState(t *testing.T) {
	env := newTestEnv(t)
	browser := newBrowser(t)
	_, requestID := env.openConsent(t, browser, authorizeQuery(classicClientID, "read", "", newPKCE(t)), ada.Email)

	location := env.decide(t, browser, requestID, "authorize")

	if location.Query().Has("state") {
		t.Errorf("redirect %s has a state, want none", location)
	}
}

func TestDenyRedirectsWithAccessDenied(t *testing.T) {
	env := newTestEnv(t)
	browser := newBrowser(t)
	_, requestID := env.openConsent(t, browser, authorizeQuery(classicClientID, "read", "s1", newPKCE(t)), ada.Email)

	location := env.decide(t, browser, requestID, "deny")

	q := location.Query()
	if q.Get("error") != "access_denied" {
		t.Errorf("error = %q, want access_denied", q.Get("error"))
	}
	if q.Get("error_description") == "" {
		t.Error("error_description is empty")
	}
	if q.Get("state") != "s1" {
		t.Errorf("state = %q, want s1", q.Get("state"))
	}
	if q.Has("code") {
		t.Error("deny redirect carries a code")
	}
	if env.sim.IssuedCodes() != 0 {
		t.Errorf("IssuedCodes = %d, want 0", env.sim.IssuedCodes())
	}
}

func TestDenyDescriptionSentVerbatim(t *testing.T) {
	env := newTestEnv(t)
	hostile := `<script>alert(1)</script>"&'`
	env.sim.SetDenyDescription(hostile)
	browser := newBrowser(t)
	_, requestID := env.openConsent(t, browser, authorizeQuery(classicClientID, "read", "s1", newPKCE(t)), ada.Email)

	location := env.decide(t, browser, requestID, "deny")

	if strings.ContainsAny(location.RawQuery, `<>"'`) {
		t.Errorf("raw query %q is not URL-encoded", location.RawQuery)
	}
	if got := location.Query().Get("error_description"); got != hostile {
		t.Errorf("error_description = %q, want %q", got, hostile)
	}
}

func TestErrorPageEscapesParameters(t *testing.T) {
	env := newTestEnv(t)
	q := authorizeQuery(`<script>alert(1)</script>`, "read", "s1", newPKCE(t))

	resp, page := get(t, newBrowser(t), env.url+"/oauth/authorize?"+q.Encode())

	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("status = %d, want 400", resp.StatusCode)
	}
	if strings.Contains(page, "<script>") {
		t.Errorf("error page contains an unescaped script tag:\n%s", page)
	}
	if !strings.Contains(page, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Errorf("error page does not show the escaped client id:\n%s", page)
	}
}

func TestDecisionRequestIDSingleUse(t *testing.T) {
	env := newTestEnv(t)
	browser := newBrowser(t)
	_, requestID := env.openConsent(t, browser, authorizeQuery(classicClientID, "read", "s1", newPKCE(t)), ada.Email)
	env.decide(t, browser, requestID, "authorize")

	form := url.Values{"request_id": {requestID}, "decision": {"authorize"}}
	resp, page := postForm(t, browser, env.url+"/oauth/authorize/decision", form)

	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("status = %d, want 400", resp.StatusCode)
	}
	if !strings.Contains(page, "already decided") {
		t.Errorf("page does not explain the reuse:\n%s", page)
	}
}

func TestDecisionRequiresSameUser(t *testing.T) {
	env := newTestEnv(t)
	_, requestID := env.openConsent(t, newBrowser(t), authorizeQuery(classicClientID, "read", "s1", newPKCE(t)), ada.Email)
	other := newBrowser(t)
	postForm(t, other, env.url+"/sign_in", url.Values{"email": {grace.Email}})

	form := url.Values{"request_id": {requestID}, "decision": {"authorize"}}
	resp, _ := postForm(t, other, env.url+"/oauth/authorize/decision", form)

	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("status = %d, want 400", resp.StatusCode)
	}
	if env.sim.IssuedCodes() != 0 {
		t.Errorf("IssuedCodes = %d, want 0", env.sim.IssuedCodes())
	}
}

func TestDecisionExpires(t *testing.T) {
	env := newTestEnv(t)
	browser := newBrowser(t)
	_, requestID := env.openConsent(t, browser, authorizeQuery(classicClientID, "read", "s1", newPKCE(t)), ada.Email)
	env.clock.Advance(pendingAuthorizationTTL)

	form := url.Values{"request_id": {requestID}, "decision": {"authorize"}}
	resp, page := postForm(t, browser, env.url+"/oauth/authorize/decision", form)

	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("status = %d, want 400", resp.StatusCode)
	}
	if !strings.Contains(page, "expired") {
		t.Errorf("page does not say the request expired:\n%s", page)
	}
}

func TestRedirectKeepsRegisteredQuery(t *testing.T) {
	registered := "http://127.0.0.1:8065/callback?tenant=a%2Fb"
	env := newTestEnv(t, func(o *Options) {
		o.Apps = append(o.Apps, App{ClientID: "with-query", ClientSecret: testSecret, RedirectURIs: []string{registered}})
	})
	browser := newBrowser(t)
	q := authorizeQuery("with-query", "read", "s1", newPKCE(t))
	q.Set("redirect_uri", registered)
	_, requestID := env.openConsent(t, browser, q, ada.Email)

	location := env.decide(t, browser, requestID, "authorize")

	if !strings.HasPrefix(location.String(), registered+"&code=") {
		t.Errorf("redirect %q does not start with the registered URI and code", location)
	}
}

func TestSignOutShowsSignInAgain(t *testing.T) {
	env := newTestEnv(t)
	browser := newBrowser(t)
	q := authorizeQuery(classicClientID, "read", "s1", newPKCE(t))
	page, _ := env.openConsent(t, browser, q, ada.Email)

	form := url.Values{"return_to": {hiddenInput(t, page, "return_to")}}
	resp, _ := postForm(t, browser, env.url+"/sign_out", form)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-out status = %d, want 303", resp.StatusCode)
	}
	if got := resp.Header.Get("Location"); got != "/oauth/authorize?"+q.Encode() {
		t.Errorf("Location = %q, want the authorize URL", got)
	}

	_, page = get(t, browser, env.url+"/oauth/authorize?"+q.Encode())
	if !strings.Contains(page, `id="sign-in"`) {
		t.Errorf("authorize after sign-out did not show the sign-in page:\n%s", page)
	}
	page, _ = env.openConsent(t, browser, q, grace.Email)
	if !strings.Contains(page, grace.Name) {
		t.Errorf("consent page after signing in again does not name %s", grace.Name)
	}
}
