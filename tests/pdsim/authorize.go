package pdsim

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// sessionCookieName is the simulator's sign-in cookie. It is host-only,
// HttpOnly and SameSite=Lax.
const sessionCookieName = "pdsim_session"

// codeChallengePattern matches an S256 code challenge: the base64url encoding
// without padding of a SHA-256 digest is always 43 characters (RFC 7636 §4.2).
var codeChallengePattern = regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`)

// authorizationRequest contains the validated parameters of GET /oauth/authorize.
type authorizationRequest struct {
	clientID      string
	redirectURI   string
	scope         []string
	state         string
	hasState      bool
	codeChallenge string
}

// pendingAuthorization is an authorization request waiting for the user's
// decision on the consent page. The consent form carries only its id, so the
// parameters cannot be changed in the browser.
type pendingAuthorization struct {
	request   authorizationRequest
	userID    string
	expiresAt time.Time
}

// authorizationCode is an issued code. It stays stored after use so that a
// second exchange can be detected and the tokens issued from it revoked.
type authorizationCode struct {
	request   authorizationRequest
	userID    string
	expiresAt time.Time
	used      bool
	grantID   string // set once the code was exchanged for tokens
}

// parseAuthorizationRequest validates the query of GET /oauth/authorize. Every
// failure is shown on the simulator's error page, never sent to the redirect
// URI. PagerDuty shows its own error page for a missing scope and for a
// redirect URI mismatch.
// ASSUMPTION: PagerDuty also shows its error page, rather than redirecting, for
// an unsupported response_type and for PKCE errors.
func (s *Server) parseAuthorizationRequest(query url.Values) (authorizationRequest, error) {
	var req authorizationRequest

	// RFC 6749 §3.1: request parameters must not be included more than once.
	for name, values := range query {
		if len(values) > 1 {
			return req, fmt.Errorf("the parameter %s is repeated", name)
		}
	}

	req.clientID = query.Get("client_id")
	if req.clientID == "" {
		return req, errors.New("the client_id parameter is missing")
	}
	s.mu.Lock()
	app, ok := s.apps[req.clientID]
	s.mu.Unlock()
	if !ok {
		return req, fmt.Errorf("no app has the client id %q", req.clientID)
	}

	req.redirectURI = query.Get("redirect_uri")
	if req.redirectURI == "" {
		return req, errors.New("the redirect_uri parameter is missing")
	}
	if !isRegisteredRedirectURI(app, req.redirectURI) {
		return req, fmt.Errorf("the redirect URI %q is not registered for the app %q, and it must equal a registered redirect URI exactly", req.redirectURI, req.clientID)
	}

	if rt := query.Get("response_type"); rt != "code" {
		return req, fmt.Errorf("response_type must be \"code\", not %q", rt)
	}

	req.scope = parseScope(query.Get("scope"))
	if len(req.scope) == 0 {
		return req, errors.New("the scope parameter is missing or empty")
	}

	req.state, req.hasState = query.Get("state"), query.Has("state")

	challenge := query.Get("code_challenge")
	method := query.Get("code_challenge_method")
	switch {
	case challenge == "" && method == "" && app.Scoped:
		return req, errors.New("scoped OAuth apps must use PKCE, so send code_challenge and code_challenge_method=S256")
	case challenge == "" && method != "":
		return req, errors.New("the code_challenge_method parameter was sent without a code_challenge")
	case challenge != "" && method == "":
		return req, errors.New("the code_challenge parameter was sent without code_challenge_method, which must be S256")
	case method != "" && method != "S256":
		return req, fmt.Errorf("code_challenge_method must be S256, not %q", method)
	case challenge != "" && !codeChallengePattern.MatchString(challenge):
		return req, errors.New("the code_challenge is not a base64url-encoded SHA-256 digest without padding (43 characters)")
	}
	req.codeChallenge = challenge

	return req, nil
}

func isRegisteredRedirectURI(app App, redirectURI string) bool {
	for _, registered := range app.RedirectURIs {
		if registered == redirectURI {
			return true
		}
	}
	return false
}

// handleAuthorize serves GET /oauth/authorize: the sign-in page when the
// browser has no session, otherwise the consent page.
func (s *Server) handleAuthorize(w http.ResponseWriter, r *http.Request) {
	req, err := s.parseAuthorizationRequest(r.URL.Query())
	if err != nil {
		s.renderError(w, r, http.StatusBadRequest, "Invalid authorization request: "+err.Error()+".")
		return
	}

	user, signedIn := s.signedInUser(r)
	if !signedIn {
		renderSignIn(w, http.StatusOK, signInPage{ReturnTo: r.URL.RequestURI()})
		return
	}

	requestID := newSecret()
	s.mu.Lock()
	app := s.apps[req.clientID]
	s.pending[requestID] = &pendingAuthorization{
		request:   req,
		userID:    user.ID,
		expiresAt: s.nowLocked().Add(pendingAuthorizationTTL),
	}
	s.mu.Unlock()

	page := consentPage{
		ClientID:  req.clientID,
		UserName:  user.Name,
		UserEmail: user.Email,
		RequestID: string(requestID),
		ReturnTo:  r.URL.RequestURI(),
	}
	for _, scope := range req.scope {
		page.Scopes = append(page.Scopes, consentScope{Name: scope, Valid: isValidScope(scope, app.Scoped)})
	}
	renderConsent(w, page)
}

// signedInUser returns the user of the request's session cookie.
func (s *Server) signedInUser(r *http.Request) (User, bool) {
	cookie, err := r.Cookie(sessionCookieName)
	if err != nil {
		return User{}, false
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	userID, ok := s.sessions[secret(cookie.Value)]
	if !ok {
		return User{}, false
	}
	user, ok := s.users[userID]
	return user, ok
}

// handleSignInPage serves GET /sign_in, the sign-in page without a return URL.
func (s *Server) handleSignInPage(w http.ResponseWriter, r *http.Request) {
	renderSignIn(w, http.StatusOK, signInPage{ReturnTo: sanitizeReturnTo(r.URL.Query().Get("return_to"))})
}

// handleSignIn serves POST /sign_in. A known email starts a session and
// returns the browser to the authorize URL it came from.
func (s *Server) handleSignIn(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.renderError(w, r, http.StatusBadRequest, "The sign-in form could not be parsed.")
		return
	}
	email := strings.TrimSpace(r.PostForm.Get("email"))
	returnTo := sanitizeReturnTo(r.PostForm.Get("return_to"))

	s.mu.Lock()
	userID, ok := s.userIDsByEmail[strings.ToLower(email)]
	user := s.users[userID]
	var sessionID secret
	if ok {
		sessionID = newSecret()
		s.sessions[sessionID] = userID
	}
	s.mu.Unlock()

	if !ok {
		s.logWarn("sign-in rejected: unknown email", "email", email)
		renderSignIn(w, http.StatusUnauthorized, signInPage{
			Email:    email,
			ReturnTo: returnTo,
			Error:    fmt.Sprintf("No simulated PagerDuty user has the email address %q.", email),
		})
		return
	}

	http.SetCookie(w, &http.Cookie{
		Name:     sessionCookieName,
		Value:    string(sessionID),
		Path:     "/",
		HttpOnly: true,
		SameSite: http.SameSiteLaxMode,
	})
	if returnTo == "" {
		renderSignedIn(w, user)
		return
	}
	http.Redirect(w, r, returnTo, http.StatusSeeOther)
}

// handleSignOut serves POST /sign_out. It ends the session and returns the
// browser to the authorize URL, so a test can sign in as another user.
func (s *Server) handleSignOut(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.renderError(w, r, http.StatusBadRequest, "The sign-out form could not be parsed.")
		return
	}
	if cookie, err := r.Cookie(sessionCookieName); err == nil {
		s.mu.Lock()
		delete(s.sessions, secret(cookie.Value))
		s.mu.Unlock()
	}

	http.SetCookie(w, &http.Cookie{
		Name:     sessionCookieName,
		Value:    "",
		Path:     "/",
		MaxAge:   -1,
		HttpOnly: true,
		SameSite: http.SameSiteLaxMode,
	})
	returnTo := sanitizeReturnTo(r.PostForm.Get("return_to"))
	if returnTo == "" {
		renderSignIn(w, http.StatusOK, signInPage{})
		return
	}
	http.Redirect(w, r, returnTo, http.StatusSeeOther)
}

// sanitizeReturnTo returns returnTo if it is a relative URL of the authorize
// endpoint, otherwise "". It keeps the sign-in form from being an open redirect.
func sanitizeReturnTo(returnTo string) string {
	u, err := url.Parse(returnTo)
	if err != nil || u.Scheme != "" || u.Host != "" || u.Opaque != "" || u.Path != "/oauth/authorize" {
		return ""
	}
	return u.RequestURI()
}

// handleDecision serves POST /oauth/authorize/decision. Authorize redirects
// with a new code, and Deny redirects with error=access_denied.
func (s *Server) handleDecision(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.renderError(w, r, http.StatusBadRequest, "The consent form could not be parsed.")
		return
	}
	decision := r.PostForm.Get("decision")
	if decision != "authorize" && decision != "deny" {
		s.renderError(w, r, http.StatusBadRequest, fmt.Sprintf("The decision %q is invalid. Use \"authorize\" or \"deny\".", decision))
		return
	}
	user, signedIn := s.signedInUser(r)
	requestID := secret(r.PostForm.Get("request_id"))

	s.mu.Lock()
	pending, ok := s.pending[requestID]
	delete(s.pending, requestID) // one-time, whatever the outcome
	now := s.nowLocked()
	denyDescription := s.denyDescription
	s.mu.Unlock()

	switch {
	case !ok:
		s.renderError(w, r, http.StatusBadRequest, "The authorization request is unknown or was already decided. Start again from the app.")
		return
	case !now.Before(pending.expiresAt):
		s.renderError(w, r, http.StatusBadRequest, "The authorization request expired. Start again from the app.")
		return
	case !signedIn || user.ID != pending.userID:
		s.renderError(w, r, http.StatusBadRequest, "The signed-in user changed since the consent page was shown. Start again from the app.")
		return
	}

	req := pending.request
	var params url.Values
	if decision == "deny" {
		params = url.Values{"error": {"access_denied"}, "error_description": {denyDescription}}
	} else {
		params = url.Values{"code": {string(s.issueCode(req, user.ID))}}
	}
	if req.hasState {
		params.Set("state", req.state)
	}
	http.Redirect(w, r, appendQuery(req.redirectURI, params), http.StatusFound)
}

func (s *Server) issueCode(req authorizationRequest, userID string) secret {
	code := newSecret()

	s.mu.Lock()
	defer s.mu.Unlock()
	s.codes[code] = &authorizationCode{
		request:   req,
		userID:    userID,
		expiresAt: s.nowLocked().Add(s.codeTTL),
	}
	s.issuedCodes++
	return code
}

// appendQuery adds params to the query of rawURL and keeps the registered
// query as it is, because the redirect URI must match what the app registered.
func appendQuery(rawURL string, params url.Values) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		// AddApp only accepts redirect URIs that parse.
		panic(fmt.Sprintf("pdsim: registered redirect URI %q does not parse: %v", rawURL, err))
	}
	if u.RawQuery == "" {
		u.RawQuery = params.Encode()
	} else {
		u.RawQuery += "&" + params.Encode()
	}
	return u.String()
}
