package pdsim

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
)

// maxFormBytes limits the size of a token or revocation request body.
const maxFormBytes = 64 << 10

// codeVerifierPattern matches a PKCE code verifier: 43 to 128 characters from
// the unreserved set (RFC 7636 §4.1).
var codeVerifierPattern = regexp.MustCompile(`^[A-Za-z0-9._~-]{43,128}$`)

// grant links the tokens issued from one authorization code, across refreshes,
// so they can be revoked together.
type grant struct {
	id       string
	clientID string
	userID   string
	endsAt   time.Time // after this, the user must authorize again
}

// issuedToken is an access token or a refresh token.
type issuedToken struct {
	grantID   string
	clientID  string
	userID    string
	scopes    []string
	expiresAt time.Time
	rotated   bool // refresh tokens only: already exchanged for new tokens
}

// tokenResponse is the JSON body of a successful token request.
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	RefreshToken string `json:"refresh_token"`
	Scope        string `json:"scope"`
	ExpiresIn    int64  `json:"expires_in"` // seconds
	IDToken      string `json:"id_token"`
	ClientInfo   string `json:"client_info"`
}

// oauthError is an error response of the token or revocation endpoint (RFC 6749 §5.2).
type oauthError struct {
	status      int
	code        string
	description string
}

// writeOAuthError logs e and writes it as JSON.
// ASSUMPTION: PagerDuty does not document its token error bodies, so the
// simulator sends the RFC 6749 §5.2 fields error and error_description.
func (s *Server) writeOAuthError(w http.ResponseWriter, r *http.Request, e *oauthError) {
	s.logWarn("OAuth request rejected", "path", r.URL.Path, "error", e.code, "error_description", e.description)
	writeJSON(w, e.status, map[string]string{"error": e.code, "error_description": e.description})
}

func invalidRequest(format string, args ...any) *oauthError {
	return &oauthError{http.StatusBadRequest, "invalid_request", fmt.Sprintf(format, args...)}
}

func invalidClient(format string, args ...any) *oauthError {
	return &oauthError{http.StatusUnauthorized, "invalid_client", fmt.Sprintf(format, args...)}
}

func invalidGrant(format string, args ...any) *oauthError {
	return &oauthError{http.StatusBadRequest, "invalid_grant", fmt.Sprintf(format, args...)}
}

// writeJSON writes body as JSON with Cache-Control: no-store, which RFC 6749
// §5.1 requires for token responses.
func writeJSON(w http.ResponseWriter, status int, body any) {
	data, err := json.Marshal(body)
	if err != nil {
		http.Error(w, "pdsim: encoding the response failed: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	w.WriteHeader(status)
	_, _ = w.Write(data)
}

// readForm reads an application/x-www-form-urlencoded request body and
// rejects repeated parameters (RFC 6749 §3.2).
// ASSUMPTION: like RFC 6749 §2.3.1 for client secrets, the simulator rejects
// any parameter in the URL query of a token or revocation request.
func readForm(w http.ResponseWriter, r *http.Request) (url.Values, *oauthError) {
	if r.URL.RawQuery != "" {
		return nil, invalidRequest("Send the parameters in the request body, not in the URL query.")
	}
	mediaType, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mediaType != "application/x-www-form-urlencoded" {
		return nil, invalidRequest("The Content-Type %q is not supported. Use application/x-www-form-urlencoded.", r.Header.Get("Content-Type"))
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxFormBytes))
	if err != nil {
		return nil, invalidRequest("The request body could not be read or is larger than %d bytes.", maxFormBytes)
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, invalidRequest("The request body is not valid form encoding.")
	}
	for name, values := range form {
		if len(values) > 1 {
			return nil, invalidRequest("The parameter %s is repeated.", name)
		}
	}
	return form, nil
}

// authenticateClient checks client_id and client_secret in the form.
// ASSUMPTION: PagerDuty documents only credentials in the body, so a request
// with an Authorization header, such as HTTP Basic, fails with invalid_client.
func (s *Server) authenticateClient(r *http.Request, form url.Values) (App, *oauthError) {
	if r.Header.Get("Authorization") != "" {
		return App{}, invalidClient("The Authorization header is not supported. Send client_id and client_secret in the request body.")
	}
	clientID := form.Get("client_id")
	if clientID == "" {
		return App{}, invalidClient("The client_id parameter is missing.")
	}

	s.mu.Lock()
	app, ok := s.apps[clientID]
	s.mu.Unlock()
	if !ok {
		return App{}, invalidClient("No app has the client id %q.", clientID)
	}
	clientSecret := form.Get("client_secret")
	if clientSecret == "" {
		return App{}, invalidClient("The client_secret parameter is missing.")
	}
	if subtle.ConstantTimeCompare([]byte(clientSecret), []byte(app.ClientSecret)) != 1 {
		return App{}, invalidClient("The client secret is invalid for the app %q.", clientID)
	}
	return app, nil
}

// handleToken serves POST /oauth/token for the grant types authorization_code
// and refresh_token.
// NOTE: PagerDuty also offers client_credentials for scoped apps, but the
// simulator does not because the plugin acts for users only.
func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.tokenRequests++
	s.mu.Unlock()
	if s.applyFailure(w, r, EndpointToken) {
		return
	}

	form, oerr := readForm(w, r)
	if oerr != nil {
		s.writeOAuthError(w, r, oerr)
		return
	}
	app, oerr := s.authenticateClient(r, form)
	if oerr != nil {
		s.writeOAuthError(w, r, oerr)
		return
	}

	issuer := "http://" + r.Host
	var resp *tokenResponse
	switch grantType := form.Get("grant_type"); grantType {
	case "authorization_code":
		resp, oerr = s.exchangeAuthorizationCode(app, form, issuer)
	case "refresh_token":
		resp, oerr = s.refreshAccessToken(app, form, issuer)
	case "":
		oerr = invalidRequest("The grant_type parameter is missing.")
	default:
		oerr = &oauthError{http.StatusBadRequest, "unsupported_grant_type",
			fmt.Sprintf("The grant_type %q is not supported. Use authorization_code or refresh_token.", grantType)}
	}
	if oerr != nil {
		s.writeOAuthError(w, r, oerr)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

// exchangeAuthorizationCode implements the authorization_code grant (RFC 6749
// §4.1.3) with PKCE (RFC 7636 §4.6).
func (s *Server) exchangeAuthorizationCode(app App, form url.Values, issuer string) (*tokenResponse, *oauthError) {
	codeValue := secret(form.Get("code"))
	redirectURI := form.Get("redirect_uri")
	verifier := form.Get("code_verifier")
	if codeValue == "" {
		return nil, invalidRequest("The code parameter is missing.")
	}
	if redirectURI == "" {
		return nil, invalidRequest("The redirect_uri parameter is missing. Send the one used in the authorization request.")
	}
	if verifier != "" && !codeVerifierPattern.MatchString(verifier) {
		return nil, invalidRequest("The code_verifier must be 43 to 128 characters from A-Z, a-z, 0-9 and -._~.")
	}

	s.mu.Lock()
	defer s.mu.Unlock()

	code, ok := s.codes[codeValue]
	if !ok {
		return nil, invalidGrant("The authorization code is invalid.")
	}
	if code.request.clientID != app.ClientID {
		return nil, invalidGrant("The authorization code was issued to another client.")
	}
	if code.used {
		// RFC 6749 §4.1.2 recommends revoking the tokens issued from a code
		// that is used twice.
		// ASSUMPTION: PagerDuty does so too, but its documentation only says
		// that a code is valid once.
		s.revokeGrantLocked(code.grantID)
		return nil, invalidGrant("The authorization code was already used, so the tokens issued from it are revoked.")
	}
	// ASSUMPTION: every exchange attempt that passes client authentication
	// uses up the code, even one that fails below, so a client cannot retry
	// with another verifier or redirect URI.
	code.used = true

	if !s.nowLocked().Before(code.expiresAt) {
		return nil, invalidGrant("The authorization code expired. Codes are valid for %s.", s.codeTTL)
	}
	if redirectURI != code.request.redirectURI {
		return nil, invalidGrant("The redirect_uri %q differs from the one in the authorization request.", redirectURI)
	}
	if oerr := checkCodeVerifier(code.request.codeChallenge, verifier); oerr != nil {
		return nil, oerr
	}

	window := classicGrantWindow
	if app.Scoped {
		window = scopedGrantWindow
	}
	g := &grant{
		id:       newID(),
		clientID: app.ClientID,
		userID:   code.userID,
		endsAt:   s.nowLocked().Add(window),
	}
	s.grants[g.id] = g
	code.grantID = g.id

	return s.issueTokensLocked(app, g, grantedScopes(code.request.scope, app.Scoped), issuer)
}

// checkCodeVerifier compares base64url-no-padding(SHA-256(verifier)) with the
// code challenge of the authorization request (RFC 7636 §4.6).
func checkCodeVerifier(challenge, verifier string) *oauthError {
	if challenge == "" && verifier == "" {
		return nil
	}
	if challenge == "" {
		// ASSUMPTION: a verifier without a challenge is rejected rather than
		// ignored, because it shows that the client lost track of its PKCE state.
		return invalidRequest("A code_verifier was sent, but the authorization request had no code_challenge.")
	}
	if verifier == "" {
		return invalidRequest("The code_verifier parameter is missing, but the authorization request had a code_challenge.")
	}
	digest := sha256.Sum256([]byte(verifier))
	computed := base64.RawURLEncoding.EncodeToString(digest[:])
	if subtle.ConstantTimeCompare([]byte(computed), []byte(challenge)) != 1 {
		return invalidGrant("The code_verifier does not match the code_challenge.")
	}
	return nil
}

// refreshAccessToken implements the refresh_token grant (RFC 6749 §6). It
// rotates the refresh token: the response carries a new one and the old one
// stops working.
func (s *Server) refreshAccessToken(app App, form url.Values, issuer string) (*tokenResponse, *oauthError) {
	refreshValue := secret(form.Get("refresh_token"))
	if refreshValue == "" {
		return nil, invalidRequest("The refresh_token parameter is missing.")
	}

	s.mu.Lock()
	defer s.mu.Unlock()

	old, ok := s.refreshTokens[refreshValue]
	if !ok {
		return nil, invalidGrant("The refresh token is invalid or revoked.")
	}
	if old.clientID != app.ClientID {
		return nil, invalidGrant("The refresh token was issued to another client.")
	}
	if old.rotated {
		// ASSUMPTION: reusing a rotated refresh token only fails. It does not
		// revoke the newer tokens of the grant.
		return nil, invalidGrant("The refresh token was already used. Use the refresh token of the latest token response.")
	}
	now := s.nowLocked()
	if !now.Before(old.expiresAt) {
		return nil, invalidGrant("The refresh token expired, so the user must authorize the app again.")
	}
	g, ok := s.grants[old.grantID]
	if !ok || !now.Before(g.endsAt) {
		return nil, invalidGrant("The authorization is older than PagerDuty allows, so the user must authorize the app again.")
	}

	scopes := old.scopes
	if form.Has("scope") {
		requested := parseScope(form.Get("scope"))
		for _, scope := range requested {
			if !slices.Contains(old.scopes, scope) {
				return nil, &oauthError{http.StatusBadRequest, "invalid_scope",
					fmt.Sprintf("The scope %q was not granted to the refresh token.", scope)}
			}
		}
		scopes = grantedScopes(requested, app.Scoped)
	}

	// ASSUMPTION: the access tokens issued before stay valid until they
	// expire, because only the refresh token rotates.
	old.rotated = true
	return s.issueTokensLocked(app, g, scopes, issuer)
}

// issueTokensLocked stores a new access token and refresh token for g.
// ASSUMPTION: a rotated refresh token gets the full refresh lifetime again,
// but never past the end of the grant.
func (s *Server) issueTokensLocked(app App, g *grant, scopes []string, issuer string) (*tokenResponse, *oauthError) {
	user, ok := s.users[g.userID]
	if !ok {
		return nil, invalidGrant("The user %s of this grant no longer exists.", g.userID)
	}
	now := s.nowLocked()
	accessTTL, refreshTTL := s.tokenLifetimes(app)
	refreshExpiry := now.Add(refreshTTL)
	if refreshExpiry.After(g.endsAt) {
		refreshExpiry = g.endsAt
	}

	accessValue, refreshValue := newSecret(), newSecret()
	s.accessTokens[accessValue] = &issuedToken{
		grantID: g.id, clientID: g.clientID, userID: g.userID,
		scopes: scopes, expiresAt: now.Add(accessTTL),
	}
	s.refreshTokens[refreshValue] = &issuedToken{
		grantID: g.id, clientID: g.clientID, userID: g.userID,
		scopes: scopes, expiresAt: refreshExpiry,
	}

	return &tokenResponse{
		AccessToken:  string(accessValue),
		TokenType:    "bearer",
		RefreshToken: string(refreshValue),
		Scope:        strings.Join(scopes, " "),
		ExpiresIn:    int64(accessTTL / time.Second),
		IDToken:      buildIDToken(user, app.ClientID, issuer, now, accessTTL),
		ClientInfo:   buildClientInfo(user),
	}, nil
}

// tokenLifetimes returns the access and refresh token lifetimes for the app's
// kind, or the Options overrides.
func (s *Server) tokenLifetimes(app App) (access, refresh time.Duration) {
	access, refresh = classicAccessTokenTTL, classicRefreshTokenTTL
	if app.Scoped {
		access, refresh = scopedAccessTokenTTL, scopedRefreshTokenTTL
	}
	if s.accessTokenTTL != 0 {
		access = s.accessTokenTTL
	}
	if s.refreshTokenTTL != 0 {
		refresh = s.refreshTokenTTL
	}
	return access, refresh
}

// revokeGrantLocked deletes every access and refresh token of the grant.
func (s *Server) revokeGrantLocked(grantID string) {
	if grantID == "" {
		return
	}
	for value, token := range s.accessTokens {
		if token.grantID == grantID {
			delete(s.accessTokens, value)
		}
	}
	for value, token := range s.refreshTokens {
		if token.grantID == grantID {
			delete(s.refreshTokens, value)
		}
	}
	delete(s.grants, grantID)
}
