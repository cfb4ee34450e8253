package pdsim

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	classicClientID = "mm-classic"
	scopedClientID  = "mm-scoped"
	testSecret      = "test-client-secret"
	// testRedirectURI is only compared as a string; no test connects to it.
	testRedirectURI = "http://127.0.0.1:8065/plugins/mattermost-pagerduty/oauth/complete"
)

var (
	classicApp = App{ClientID: classicClientID, ClientSecret: testSecret, RedirectURIs: []string{testRedirectURI}}
	scopedApp  = App{ClientID: scopedClientID, ClientSecret: testSecret, RedirectURIs: []string{testRedirectURI}, Scoped: true}

	ada = User{
		ID: "PABC123", Name: "Ada Lovelace", Email: "ada@example.com", Subdomain: "acme",
		AccountID: "PACME01", Region: "us", TimeZone: "Europe/London", Role: "admin",
	}
	grace = User{
		ID: "PGRACE1", Name: "Grace Hopper", Email: "grace@example.com", Subdomain: "navy",
		AccountID: "PNAVY01", Region: "eu",
	}
)

// fakeClock is a clock that tests move by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// testEnv is a simulator behind httptest with both apps and both users.
type testEnv struct {
	sim   *Server
	url   string
	clock *fakeClock
}

func newTestEnv(t *testing.T, configure ...func(*Options)) *testEnv {
	t.Helper()
	clock := &fakeClock{now: time.Date(2026, 8, 1, 12, 0, 0, 0, time.UTC)}
	opts := Options{Apps: []App{classicApp, scopedApp}, Users: []User{ada, grace}, Now: clock.Now}
	for _, f := range configure {
		f(&opts)
	}
	sim := New(opts)
	ts := httptest.NewServer(sim.Handler())
	t.Cleanup(ts.Close)
	return &testEnv{sim: sim, url: ts.URL, clock: clock}
}

// newBrowser returns a client with a cookie jar that does not follow
// redirects, so tests see every Location.
func newBrowser(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatalf("cookiejar.New: %v", err)
	}
	return &http.Client{
		Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// pkcePair is a PKCE code verifier and its S256 code challenge.
type pkcePair struct {
	verifier  string
	challenge string
}

func newPKCE(t *testing.T) pkcePair {
	t.Helper()
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatalf("rand.Read: %v", err)
	}
	verifier := base64.RawURLEncoding.EncodeToString(b[:])
	return pkcePair{verifier: verifier, challenge: s256(verifier)}
}

// s256 returns the S256 code challenge of a code verifier (RFC 7636 §4.2).
func s256(verifier string) string {
	digest := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(digest[:])
}

// authorizeQuery returns a valid authorization request query.
func authorizeQuery(clientID, scope, state string, pkce pkcePair) url.Values {
	q := url.Values{
		"client_id":             {clientID},
		"redirect_uri":          {testRedirectURI},
		"response_type":         {"code"},
		"scope":                 {scope},
		"code_challenge":        {pkce.challenge},
		"code_challenge_method": {"S256"},
	}
	if state != "" {
		q.Set("state", state)
	}
	return q
}

func readBody(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return string(body)
}

func get(t *testing.T, client *http.Client, rawURL string) (*http.Response, string) {
	t.Helper()
	resp, err := client.Get(rawURL)
	if err != nil {
		t.Fatalf("GET %s: %v", rawURL, err)
	}
	return resp, readBody(t, resp)
}

func postForm(t *testing.T, client *http.Client, rawURL string, form url.Values) (*http.Response, string) {
	t.Helper()
	resp, err := client.PostForm(rawURL, form)
	if err != nil {
		t.Fatalf("POST %s: %v", rawURL, err)
	}
	return resp, readBody(t, resp)
}

// hiddenInput returns the unescaped value of the form input with the given name.
func hiddenInput(t *testing.T, page, name string) string {
	t.Helper()
	m := regexp.MustCompile(`name="` + regexp.QuoteMeta(name) + `" value="([^"]*)"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("page has no input %q:\n%s", name, page)
	}
	return html.UnescapeString(m[1])
}

// openConsent requests the authorize URL, signs in as email if the sign-in
// page appears, and returns the consent page and its request id.
func (e *testEnv) openConsent(t *testing.T, browser *http.Client, query url.Values, email string) (page, requestID string) {
	t.Helper()
	resp, page := get(t, browser, e.url+"/oauth/authorize?"+query.Encode())
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("authorize status = %d, want 200; page:\n%s", resp.StatusCode, page)
	}

	if strings.Contains(page, `id="sign-in"`) {
		form := url.Values{"email": {email}, "return_to": {hiddenInput(t, page, "return_to")}}
		resp, page = postForm(t, browser, e.url+"/sign_in", form)
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("sign-in status = %d, want 303; page:\n%s", resp.StatusCode, page)
		}
		resp, page = get(t, browser, e.url+resp.Header.Get("Location"))
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("authorize after sign-in status = %d, want 200; page:\n%s", resp.StatusCode, page)
		}
	}

	if !strings.Contains(page, `id="authorize"`) {
		t.Fatalf("expected the consent page, got:\n%s", page)
	}
	return page, hiddenInput(t, page, "request_id")
}

// decide posts the consent decision and returns the parsed redirect.
func (e *testEnv) decide(t *testing.T, browser *http.Client, requestID, decision string) *url.URL {
	t.Helper()
	form := url.Values{"request_id": {requestID}, "decision": {decision}}
	resp, page := postForm(t, browser, e.url+"/oauth/authorize/decision", form)
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("decision status = %d, want 302; page:\n%s", resp.StatusCode, page)
	}
	location, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatalf("parse Location %q: %v", resp.Header.Get("Location"), err)
	}
	return location
}

// authorizeCode runs the browser leg as email and returns the authorization code.
func (e *testEnv) authorizeCode(t *testing.T, browser *http.Client, query url.Values, email string) string {
	t.Helper()
	_, requestID := e.openConsent(t, browser, query, email)
	location := e.decide(t, browser, requestID, "authorize")
	code := location.Query().Get("code")
	if code == "" {
		t.Fatalf("redirect %s has no code", location)
	}
	return code
}

// postToken posts form to the token endpoint and decodes the JSON body.
func (e *testEnv) postToken(t *testing.T, form url.Values) (*http.Response, map[string]any) {
	t.Helper()
	resp, body := postForm(t, http.DefaultClient, e.url+"/oauth/token", form)
	var decoded map[string]any
	if err := json.Unmarshal([]byte(body), &decoded); err != nil {
		t.Fatalf("token response is not JSON (status %d): %q", resp.StatusCode, body)
	}
	return resp, decoded
}

func codeForm(clientID, code, verifier string) url.Values {
	form := url.Values{
		"grant_type":    {"authorization_code"},
		"client_id":     {clientID},
		"client_secret": {testSecret},
		"code":          {code},
		"redirect_uri":  {testRedirectURI},
	}
	if verifier != "" {
		form.Set("code_verifier", verifier)
	}
	return form
}

func refreshForm(clientID, refreshToken string) url.Values {
	return url.Values{
		"grant_type":    {"refresh_token"},
		"client_id":     {clientID},
		"client_secret": {testSecret},
		"refresh_token": {refreshToken},
	}
}

// signInAndGetTokens runs the whole code flow with PKCE for user and app and
// returns the token response.
func (e *testEnv) signInAndGetTokens(t *testing.T, clientID, scope string, user User) map[string]any {
	t.Helper()
	pkce := newPKCE(t)
	code := e.authorizeCode(t, newBrowser(t), authorizeQuery(clientID, scope, "xyz", pkce), user.Email)
	resp, body := e.postToken(t, codeForm(clientID, code, pkce.verifier))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("token status = %d, want 200; body %v", resp.StatusCode, body)
	}
	return body
}

// wantOAuthError checks an RFC 6749 §5.2 error response.
func wantOAuthError(t *testing.T, resp *http.Response, body map[string]any, status int, code string) {
	t.Helper()
	if resp.StatusCode != status {
		t.Errorf("status = %d, want %d; body %v", resp.StatusCode, status, body)
	}
	if body["error"] != code {
		t.Errorf("error = %v, want %q; body %v", body["error"], code, body)
	}
	if desc, _ := body["error_description"].(string); desc == "" {
		t.Errorf("error_description is empty; body %v", body)
	}
}

// getMe calls GET /users/me with the access token and the PagerDuty Accept header.
func (e *testEnv) getMe(t *testing.T, accessToken string) (*http.Response, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, e.url+"/users/me", nil)
	if err != nil {
		t.Fatalf("new request: %v", err)
	}
	if accessToken != "" {
		req.Header.Set("Authorization", "Bearer "+accessToken)
	}
	req.Header.Set("Accept", AcceptV2)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET /users/me: %v", err)
	}
	body := readBody(t, resp)
	var decoded map[string]any
	if err := json.Unmarshal([]byte(body), &decoded); err != nil {
		t.Fatalf("/users/me response is not JSON (status %d): %q", resp.StatusCode, body)
	}
	return resp, decoded
}

// apiErrorOf returns the "error" object of a REST API error body.
func apiErrorOf(t *testing.T, body map[string]any) map[string]any {
	t.Helper()
	obj, ok := body["error"].(map[string]any)
	if !ok {
		t.Fatalf("body has no error object: %v", body)
	}
	return obj
}

// decodeJWT splits an unsigned JWT and decodes its header and claims.
func decodeJWT(t *testing.T, token string) (header, claims map[string]any) {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("JWT has %d parts, want 3: %q", len(parts), token)
	}
	return decodeSegment(t, parts[0]), decodeSegment(t, parts[1])
}

func decodeSegment(t *testing.T, segment string) map[string]any {
	t.Helper()
	data, err := base64.RawURLEncoding.DecodeString(segment)
	if err != nil {
		t.Fatalf("segment %q is not base64url without padding: %v", segment, err)
	}
	var decoded map[string]any
	if err := json.Unmarshal(data, &decoded); err != nil {
		t.Fatalf("segment is not JSON: %q", data)
	}
	return decoded
}
