package pdsim

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
)

func TestConcurrentFlows(t *testing.T) {
	env := newTestEnv(t)
	const users = 50
	for i := range users {
		env.sim.AddUser(User{
			ID: fmt.Sprintf("PUSER%02d", i), Name: fmt.Sprintf("User %d", i),
			Email: fmt.Sprintf("user%d@example.com", i), Subdomain: "acme",
		})
	}

	var wg sync.WaitGroup
	errs := make(chan error, users)
	for i := range users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := env.runFlow(i); err != nil {
				errs <- fmt.Errorf("user %d: %w", i, err)
			}
		}()
	}
	wg.Wait()
	close(errs)

	for err := range errs {
		t.Error(err)
	}
	if got := env.sim.TokenRequests(); got != users*2 {
		t.Errorf("TokenRequests = %d, want %d", got, users*2)
	}
	if got := env.sim.ActiveRefreshTokens(); got != users {
		t.Errorf("ActiveRefreshTokens = %d, want %d", got, users)
	}
}

var requestIDPattern = regexp.MustCompile(`name="request_id" value="([^"]+)"`)

// runFlow signs in as user i, exchanges the code, refreshes and reads
// /users/me. It returns errors rather than using the test helpers, because
// t.Fatal must not be called outside the test goroutine.
func (e *testEnv) runFlow(i int) error {
	jar, err := cookiejar.New(nil)
	if err != nil {
		return err
	}
	browser := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	verifier := fmt.Sprintf("verifier-%02d-%s", i, strings.Repeat("v", 40))
	pkce := pkcePair{verifier: verifier, challenge: s256(verifier)}
	state := fmt.Sprint("state-", i)

	if _, _, err := send(browser.PostForm(e.url+"/sign_in", url.Values{"email": {fmt.Sprintf("user%d@example.com", i)}})); err != nil {
		return fmt.Errorf("sign in: %w", err)
	}
	_, page, err := send(browser.Get(e.url + "/oauth/authorize?" + authorizeQuery(classicClientID, "read", state, pkce).Encode()))
	if err != nil {
		return fmt.Errorf("authorize: %w", err)
	}
	m := requestIDPattern.FindStringSubmatch(page)
	if m == nil {
		return fmt.Errorf("no consent page: %s", page)
	}
	resp, _, err := send(browser.PostForm(e.url+"/oauth/authorize/decision", url.Values{"request_id": {m[1]}, "decision": {"authorize"}}))
	if err != nil {
		return fmt.Errorf("decision: %w", err)
	}
	location, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || location.Query().Get("state") != state {
		return fmt.Errorf("redirect %q does not carry state %q", resp.Header.Get("Location"), state)
	}

	var tokens tokenResponse
	if err := postTokenJSON(e.url, codeForm(classicClientID, location.Query().Get("code"), verifier), &tokens); err != nil {
		return fmt.Errorf("code exchange: %w", err)
	}
	if err := postTokenJSON(e.url, refreshForm(classicClientID, tokens.RefreshToken), &tokens); err != nil {
		return fmt.Errorf("refresh: %w", err)
	}

	req, _ := http.NewRequest(http.MethodGet, e.url+"/users/me", nil)
	req.Header.Set("Authorization", "Bearer "+tokens.AccessToken)
	_, body, err := send(http.DefaultClient.Do(req))
	if err != nil {
		return fmt.Errorf("/users/me: %w", err)
	}
	var me struct{ User struct{ ID string } }
	if err := json.Unmarshal([]byte(body), &me); err != nil {
		return fmt.Errorf("/users/me body %q: %w", body, err)
	}
	if want := fmt.Sprintf("PUSER%02d", i); me.User.ID != want {
		return fmt.Errorf("/users/me id = %q, want %q", me.User.ID, want)
	}
	return nil
}

// send reads the body of a response and returns an error for a 4xx or 5xx status.
func send(resp *http.Response, err error) (*http.Response, string, error) {
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, "", err
	}
	if resp.StatusCode >= 400 {
		return resp, string(body), fmt.Errorf("status %d: %s", resp.StatusCode, body)
	}
	return resp, string(body), nil
}

func postTokenJSON(baseURL string, form url.Values, into *tokenResponse) error {
	_, body, err := send(http.PostForm(baseURL+"/oauth/token", form))
	if err != nil {
		return err
	}
	return json.Unmarshal([]byte(body), into)
}

func TestStartServesOnLoopback(t *testing.T) {
	sim := New(Options{Apps: []App{classicApp}, Users: []User{ada}})

	baseURL, err := sim.Start("127.0.0.2:0")
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { _ = sim.Close() })

	if !strings.HasPrefix(baseURL, "http://127.0.0.2:") {
		t.Errorf("base URL = %q, want http://127.0.0.2:PORT", baseURL)
	}
	resp, _, err := send(http.Get(baseURL + "/_sim/stats"))
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("GET /_sim/stats: %v", err)
	}
	if _, err := sim.Start("127.0.0.2:0"); err == nil {
		t.Error("second Start succeeded, want an error")
	}
	if err := sim.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if _, err := http.Get(baseURL + "/_sim/stats"); err == nil {
		t.Error("server still answers after Close")
	}
}

func TestStartRejectsNonLoopback(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", ":0", "192.0.2.1:0", "example.com:0", "127.0.0.2"} {
		sim := New(Options{})
		if _, err := sim.Start(addr); err == nil {
			_ = sim.Close()
			t.Errorf("Start(%q) succeeded, want an error", addr)
		}
	}
}

func TestSecretFormattingRedacts(t *testing.T) {
	value := newSecret()

	for _, format := range []string{"%v", "%s", "%q", "%+v", "%#v"} {
		if got := fmt.Sprintf(format, value); strings.Contains(got, string(value)) {
			t.Errorf("Sprintf(%q) = %q, leaks the secret", format, got)
		}
	}
	if got := fmt.Sprintf("%v", struct{ Token secret }{value}); strings.Contains(got, string(value)) {
		t.Errorf("struct field formatting %q leaks the secret", got)
	}
}
