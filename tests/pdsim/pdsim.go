// Package pdsim simulates PagerDuty's OAuth 2.0 identity endpoints and the
// part of its REST API that the plugin calls, so tests can run on loopback.
//
// One listener serves both the identity endpoints (/oauth/...) and the REST
// API (/users/me), so the plugin uses the same base URL as identity URL and as
// API URL. Routes under /_sim/ exist only in the simulator and let tests
// inject failures and read counters.
//
// The simulator follows PagerDuty's published behaviour. Where PagerDuty does
// not document a detail, the code marks its choice with "ASSUMPTION:".
package pdsim

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// App is an OAuth app registered in the simulated PagerDuty account.
type App struct {
	// ClientID is the OAuth client id that PagerDuty assigns to the app.
	ClientID string `json:"client_id"`
	// ClientSecret is the OAuth client secret that PagerDuty assigns to the app.
	ClientSecret string `json:"client_secret"`
	// RedirectURIs are the registered redirect URIs, which requests must match exactly.
	RedirectURIs []string `json:"redirect_uris"`
	// Scoped marks a scoped OAuth app: granular scopes such as users.read,
	// mandatory PKCE, 1-day access tokens and 30-day refresh tokens. A classic
	// app uses the scopes read and write, 30-day access tokens and 210-day
	// refresh tokens.
	// NOTE: PagerDuty lets a scoped app authorize only users of the account
	// that registered it. The simulator does not check the account.
	Scoped bool `json:"scoped"`
}

// User is a simulated PagerDuty user who can sign in and authorize apps.
type User struct {
	// ID is the PagerDuty user id, such as "PABC123".
	ID string `json:"id"`
	// Name is the display name.
	Name string `json:"name"`
	// Email is the sign-in address, matched without regard to case.
	Email string `json:"email"`
	// Subdomain is the account subdomain, as in https://<subdomain>.pagerduty.com.
	Subdomain string `json:"subdomain"`
	// AccountID is the PagerDuty account id.
	AccountID string `json:"account_id"`
	// Region is the service region, "us" or "eu" (empty means "us").
	Region string `json:"region"`
	// TimeZone is the IANA time zone name (empty is sent as null).
	TimeZone string `json:"time_zone"`
	// Role is the PagerDuty role, such as "admin" or "user" (empty means "user").
	Role string `json:"role"`
}

// Options configures a Server.
type Options struct {
	// Apps are the OAuth apps registered at start.
	Apps []App
	// Users are the users who can sign in at start.
	Users []User
	// AccessTokenTTL overrides the access token lifetime of both app kinds.
	// Zero means PagerDuty's default: 30 days for classic apps, 1 day for scoped apps.
	AccessTokenTTL time.Duration
	// RefreshTokenTTL overrides the refresh token lifetime of both app kinds.
	// Zero means PagerDuty's default: 210 days for classic apps, 30 days for scoped apps.
	RefreshTokenTTL time.Duration
	// CodeTTL is the authorization code lifetime. Zero means 30 seconds.
	CodeTTL time.Duration
	// Now is the clock. Nil means time.Now.
	Now func() time.Time
	// DenyDescription is the error_description sent when the user denies
	// consent. Empty means a fixed default sentence.
	DenyDescription string
	// RateLimit is the number of REST API requests allowed per minute per app
	// per user. Zero means PagerDuty's limit for user tokens, 960.
	RateLimit int
	// Logger receives one line per request with method, path, status and
	// duration, never query strings or token values. Nil disables logging.
	Logger *slog.Logger
}

// Default lifetimes from PagerDuty's OAuth documentation.
const (
	classicAccessTokenTTL  = 30 * 24 * time.Hour
	classicRefreshTokenTTL = 210 * 24 * time.Hour
	scopedAccessTokenTTL   = 24 * time.Hour
	scopedRefreshTokenTTL  = 30 * 24 * time.Hour
	defaultCodeTTL         = 30 * time.Second
	defaultRateLimit       = 960

	// PagerDuty requires users of classic apps to authorize again after 3
	// years and users of scoped apps after 1 year.
	// ASSUMPTION: a refresh after that window fails with invalid_grant.
	classicGrantWindow = 3 * 365 * 24 * time.Hour
	scopedGrantWindow  = 365 * 24 * time.Hour

	// ASSUMPTION: PagerDuty does not document how long its consent page stays
	// valid, so a pending authorization request expires after 10 minutes.
	pendingAuthorizationTTL = 10 * time.Minute

	defaultDenyDescription = "The user denied the authorization request."
)

// Server is a PagerDuty simulator. All methods are safe for concurrent use.
type Server struct {
	accessTokenTTL  time.Duration
	refreshTokenTTL time.Duration
	codeTTL         time.Duration
	rateLimit       int
	clock           func() time.Time
	logger          *slog.Logger
	handler         http.Handler

	mu              sync.Mutex
	apps            map[string]App
	users           map[string]User   // by user id
	userIDsByEmail  map[string]string // lower-case email to user id
	sessions        map[secret]string // session cookie value to user id
	pending         map[secret]*pendingAuthorization
	codes           map[secret]*authorizationCode
	grants          map[string]*grant
	accessTokens    map[secret]*issuedToken
	refreshTokens   map[secret]*issuedToken
	rateWindows     map[rateKey]*rateWindow
	failures        []*failureRule
	clockOffset     time.Duration
	denyDescription string
	tokenRequests   int
	apiRequests     int
	issuedCodes     int
	lastAPIAccept   string
	httpServer      *http.Server
}

// New returns a Server with the apps and users of opts. It panics if an app
// or user is invalid, as AddApp and AddUser do.
func New(opts Options) *Server {
	s := &Server{
		accessTokenTTL:  opts.AccessTokenTTL,
		refreshTokenTTL: opts.RefreshTokenTTL,
		codeTTL:         opts.CodeTTL,
		rateLimit:       opts.RateLimit,
		clock:           opts.Now,
		logger:          opts.Logger,
		apps:            make(map[string]App),
		users:           make(map[string]User),
		userIDsByEmail:  make(map[string]string),
		sessions:        make(map[secret]string),
		pending:         make(map[secret]*pendingAuthorization),
		codes:           make(map[secret]*authorizationCode),
		grants:          make(map[string]*grant),
		accessTokens:    make(map[secret]*issuedToken),
		refreshTokens:   make(map[secret]*issuedToken),
		rateWindows:     make(map[rateKey]*rateWindow),
		denyDescription: opts.DenyDescription,
	}
	if s.codeTTL == 0 {
		s.codeTTL = defaultCodeTTL
	}
	if s.rateLimit == 0 {
		s.rateLimit = defaultRateLimit
	}
	if s.clock == nil {
		s.clock = time.Now
	}
	if s.denyDescription == "" {
		s.denyDescription = defaultDenyDescription
	}
	for _, app := range opts.Apps {
		s.AddApp(app)
	}
	for _, user := range opts.Users {
		s.AddUser(user)
	}
	s.handler = s.routes()
	return s
}

// Handler returns the HTTP handler that serves every simulator route, for
// use with httptest.NewServer or an own listener.
func (s *Server) Handler() http.Handler {
	return s.handler
}

// Start listens on addr, which must be a loopback address such as
// "127.0.0.2:0", serves in the background and returns the base URL, such as
// "http://127.0.0.2:41234". A Server can be started once.
func (s *Server) Start(addr string) (baseURL string, err error) {
	if err := checkLoopback(addr); err != nil {
		return "", err
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.httpServer != nil {
		return "", errors.New("pdsim: server already started")
	}

	listener, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("pdsim: listen on %s: %w", addr, err)
	}
	srv := &http.Server{Handler: s.handler, ReadHeaderTimeout: 10 * time.Second}
	s.httpServer = srv
	go func() {
		err := srv.Serve(listener)
		if err != nil && !errors.Is(err, http.ErrServerClosed) && s.logger != nil {
			s.logger.Error("pdsim: serve failed", "addr", listener.Addr().String(), "err", err)
		}
	}()
	return "http://" + listener.Addr().String(), nil
}

// checkLoopback returns an error unless addr names a loopback IP address or
// "localhost", so the simulator never listens on a network interface.
func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("pdsim: invalid listen address %q: %w", addr, err)
	}
	if host == "localhost" {
		return nil
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("pdsim: listen address %q is not a loopback address (use one in 127.0.0.0/8 or [::1])", addr)
	}
	return nil
}

// Close stops the listener that Start opened and closes open connections.
// It returns nil if the server was never started.
func (s *Server) Close() error {
	s.mu.Lock()
	srv := s.httpServer
	s.mu.Unlock()
	if srv == nil {
		return nil
	}
	return srv.Close()
}

// AddApp registers app, replacing an app with the same client id. It panics
// if app.Validate returns an error.
func (s *Server) AddApp(app App) {
	if err := app.Validate(); err != nil {
		panic(err)
	}
	app.RedirectURIs = append([]string(nil), app.RedirectURIs...)

	s.mu.Lock()
	defer s.mu.Unlock()
	s.apps[app.ClientID] = app
}

// Validate returns an error if the client id or secret is empty, there is no
// redirect URI, or a redirect URI is not an absolute URL without a fragment.
func (app App) Validate() error {
	if app.ClientID == "" || app.ClientSecret == "" {
		return errors.New("pdsim: app needs a client id and a client secret")
	}
	if len(app.RedirectURIs) == 0 {
		return fmt.Errorf("pdsim: app %s needs at least one redirect URI", app.ClientID)
	}
	for _, raw := range app.RedirectURIs {
		u, err := url.Parse(raw)
		if err != nil || !u.IsAbs() || u.Host == "" || u.Fragment != "" {
			return fmt.Errorf("pdsim: redirect URI %q of app %s must be an absolute URL without a fragment", raw, app.ClientID)
		}
	}
	return nil
}

// AddUser registers user, replacing a user with the same id. It panics if
// the id, name, email or subdomain is empty, the region is not "us" or "eu",
// or another user has the same email.
func (s *Server) AddUser(user User) {
	user, err := normalizeUser(user)
	if err != nil {
		panic(err)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.storeUserLocked(user); err != nil {
		panic(err)
	}
}

func normalizeUser(user User) (User, error) {
	if user.ID == "" || user.Name == "" || user.Email == "" || user.Subdomain == "" {
		return user, errors.New("pdsim: user needs an id, name, email and subdomain")
	}
	if user.Region == "" {
		user.Region = "us"
	}
	if user.Region != "us" && user.Region != "eu" {
		return user, fmt.Errorf("pdsim: user %s has the invalid region %q (use \"us\" or \"eu\")", user.ID, user.Region)
	}
	if user.Role == "" {
		user.Role = "user"
	}
	return user, nil
}

func (s *Server) storeUserLocked(user User) error {
	email := strings.ToLower(user.Email)
	if otherID, ok := s.userIDsByEmail[email]; ok && otherID != user.ID {
		return fmt.Errorf("pdsim: user %s has the same email as user %s", user.ID, otherID)
	}
	if old, ok := s.users[user.ID]; ok {
		delete(s.userIDsByEmail, strings.ToLower(old.Email))
	}
	s.users[user.ID] = user
	s.userIDsByEmail[email] = user.ID
	return nil
}

// SetDenyDescription sets the error_description that the next Deny
// decisions send to the redirect URI. Tests use it to send hostile text.
func (s *Server) SetDenyDescription(description string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.denyDescription = description
}

// AdvanceClock moves the simulator's clock forward by d, on top of Options.Now.
func (s *Server) AdvanceClock(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clockOffset += d
}

func (s *Server) nowLocked() time.Time {
	return s.clock().Add(s.clockOffset)
}

// secret is a token, code, session or request id. Its formatting methods
// print a placeholder, so a log line or error cannot leak the value.
type secret string

func (secret) String() string   { return "[REDACTED]" }
func (secret) GoString() string { return "[REDACTED]" }
func (secret) LogValue() slog.Value {
	return slog.StringValue("[REDACTED]")
}

// newSecret returns 256 random bits from crypto/rand, base64url-encoded.
func newSecret() secret {
	var b [32]byte
	// Since Go 1.24, rand.Read crashes the program rather than return an error.
	_, _ = rand.Read(b[:])
	return secret(base64.RawURLEncoding.EncodeToString(b[:]))
}

// newID returns a short random id for values that are not secret.
func newID() string {
	var b [9]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}
