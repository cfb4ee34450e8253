package pdsim

import (
	"crypto/md5"
	"encoding/hex"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// AcceptV2 is the Accept header that PagerDuty documents for REST API v2 requests.
const AcceptV2 = "application/vnd.pagerduty+json;version=2"

// rateLimitWindow is the period of PagerDuty's REST API rate limit.
const rateLimitWindow = time.Minute

// apiErrorBody is PagerDuty's REST API error object, sent as {"error": {...}}.
type apiErrorBody struct {
	Message string `json:"message"`
	Code    int    `json:"code"`
	// RequiredScopes lists the scopes that a 403 response names as missing.
	RequiredScopes []string `json:"required_scopes,omitempty"`
}

func (s *Server) writeAPIError(w http.ResponseWriter, r *http.Request, status int, body apiErrorBody) {
	s.logWarn("REST API request rejected", "path", r.URL.Path, "status", status, "message", body.Message, "code", body.Code)
	writeJSON(w, status, map[string]apiErrorBody{"error": body})
}

// apiUser is the user object of GET /users/me.
type apiUser struct {
	ID        string  `json:"id"`
	Type      string  `json:"type"`
	Summary   string  `json:"summary"`
	Self      string  `json:"self"`
	HTMLURL   string  `json:"html_url"`
	Name      string  `json:"name"`
	Email     string  `json:"email"`
	TimeZone  *string `json:"time_zone"` // null when the user has none
	Role      string  `json:"role"`
	AvatarURL string  `json:"avatar_url"`
	Teams     []any   `json:"teams"`
}

// apiBaseURL returns the REST API host of a region.
func apiBaseURL(region string) string {
	if region == "eu" {
		return "https://api.eu.pagerduty.com"
	}
	return "https://api.pagerduty.com"
}

// webBaseURL returns the web app host of an account.
func webBaseURL(subdomain, region string) string {
	if region == "eu" {
		return "https://" + subdomain + ".eu.pagerduty.com"
	}
	return "https://" + subdomain + ".pagerduty.com"
}

func newAPIUser(user User) apiUser {
	u := apiUser{
		ID:      user.ID,
		Type:    "user",
		Summary: user.Name,
		Self:    apiBaseURL(user.Region) + "/users/" + user.ID,
		HTMLURL: webBaseURL(user.Subdomain, user.Region) + "/users/" + user.ID,
		Name:    user.Name,
		Email:   user.Email,
		Role:    user.Role,
		Teams:   []any{},
	}
	if user.TimeZone != "" {
		timeZone := user.TimeZone
		u.TimeZone = &timeZone
	}
	// PagerDuty's avatars are Gravatar URLs keyed by the MD5 of the email;
	// the simulator never fetches them.
	digest := md5.Sum([]byte(strings.ToLower(strings.TrimSpace(user.Email))))
	u.AvatarURL = "https://secure.gravatar.com/avatar/" + hex.EncodeToString(digest[:]) + ".png?d=mm&r=PG"
	return u
}

// rateKey identifies one rate limit budget: PagerDuty limits user OAuth
// tokens per app per user.
type rateKey struct {
	clientID string
	userID   string
}

// rateWindow counts the requests of one budget in the current window.
type rateWindow struct {
	start time.Time
	count int
}

// rateLimitState is the outcome of counting one request.
type rateLimitState struct {
	limit     int
	remaining int
	reset     time.Duration
	exceeded  bool
}

// countRequestLocked counts one request against key's budget.
// ASSUMPTION: PagerDuty does not document how its window moves. The simulator
// uses a fixed one-minute window that starts with the first request. It also
// sends the rate-limit headers on 429 responses, which PagerDuty may omit.
func (s *Server) countRequestLocked(key rateKey, now time.Time) rateLimitState {
	window, ok := s.rateWindows[key]
	if !ok || !now.Before(window.start.Add(rateLimitWindow)) {
		window = &rateWindow{start: now}
		s.rateWindows[key] = window
	}
	window.count++
	return rateLimitState{
		limit:     s.rateLimit,
		remaining: max(s.rateLimit-window.count, 0),
		reset:     window.start.Add(rateLimitWindow).Sub(now),
		exceeded:  window.count > s.rateLimit,
	}
}

func (state rateLimitState) writeHeaders(w http.ResponseWriter) {
	w.Header().Set("ratelimit-limit", strconv.Itoa(state.limit))
	w.Header().Set("ratelimit-remaining", strconv.Itoa(state.remaining))
	w.Header().Set("ratelimit-reset", strconv.Itoa(int(math.Ceil(state.reset.Seconds()))))
}

// bearerToken returns the token of an "Authorization: Bearer" header
// (RFC 6750 §2.1). The scheme is matched without regard to case.
func bearerToken(r *http.Request) (secret, bool) {
	values := r.Header.Values("Authorization")
	if len(values) != 1 {
		return "", false
	}
	scheme, token, ok := strings.Cut(values[0], " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return "", false
	}
	return secret(token), true
}

// handleUsersMe serves GET /users/me for a user access token.
// ASSUMPTION: PagerDuty's handling of a missing or different Accept header is
// not documented. The simulator accepts any value and records it for LastAPIAccept.
func (s *Server) handleUsersMe(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.apiRequests++
	s.lastAPIAccept = r.Header.Get("Accept")
	s.mu.Unlock()
	if s.applyFailure(w, r, EndpointUsersMe) {
		return
	}

	value, ok := bearerToken(r)
	s.mu.Lock()
	now := s.nowLocked()
	token, found := s.accessTokens[value]
	if !ok || !found || !now.Before(token.expiresAt) {
		s.mu.Unlock()
		s.writeAPIError(w, r, http.StatusUnauthorized, apiErrorBody{Message: "Authentication failed", Code: 2006})
		return
	}
	user := s.users[token.userID]
	rate := s.countRequestLocked(rateKey{token.clientID, token.userID}, now)
	scopes := token.scopes
	s.mu.Unlock()

	rate.writeHeaders(w)
	if rate.exceeded {
		s.writeAPIError(w, r, http.StatusTooManyRequests, apiErrorBody{Message: "Rate Limit Exceeded", Code: 2020})
		return
	}
	if !coversScope(scopes, "users.read") {
		// ASSUMPTION: PagerDuty notes that a scope failure may return 403
		// with this message, code 0 and required_scopes. The exact shape is
		// not documented.
		s.writeAPIError(w, r, http.StatusForbidden, apiErrorBody{
			Message:        "Token missing required scopes",
			Code:           0,
			RequiredScopes: []string{"users.read"},
		})
		return
	}
	writeJSON(w, http.StatusOK, map[string]apiUser{"user": newAPIUser(user)})
}

// handleNotFound returns PagerDuty's not-found error for every path that the
// simulator does not serve.
func (s *Server) handleNotFound(w http.ResponseWriter, r *http.Request) {
	s.writeAPIError(w, r, http.StatusNotFound, apiErrorBody{Message: "Not Found", Code: 2100})
}
