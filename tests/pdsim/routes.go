package pdsim

import (
	"net/http"
	"strings"
	"time"
)

// routes returns the handler of every simulator route, with request logging
// if Options.Logger is set.
func (s *Server) routes() http.Handler {
	routes := []struct {
		method  string
		path    string
		handler http.HandlerFunc
	}{
		{"GET", "/oauth/authorize", s.handleAuthorize},
		{"POST", "/oauth/authorize/decision", s.handleDecision},
		{"GET", "/sign_in", s.handleSignInPage},
		{"POST", "/sign_in", s.handleSignIn},
		{"POST", "/sign_out", s.handleSignOut},
		{"POST", "/oauth/token", s.handleToken},
		{"POST", "/oauth/revoke", s.handleRevoke},

		{"GET", "/users/me", s.handleUsersMe},

		{"POST", "/_sim/failures", s.handleAddFailure},
		{"DELETE", "/_sim/failures", s.handleClearFailures},
		{"GET", "/_sim/stats", s.handleStats},
		{"POST", "/_sim/deny_description", s.handleSetDenyDescription},
		{"POST", "/_sim/revoke_all", s.handleRevokeAll},
		{"POST", "/_sim/clock", s.handleAdvanceClock},
		{"POST", "/_sim/apps", s.handleAddApp},
		{"POST", "/_sim/users", s.handleAddUser},
	}

	mux := http.NewServeMux()
	allowed := make(map[string][]string)
	var paths []string
	for _, route := range routes {
		mux.HandleFunc(route.method+" "+route.path, route.handler)
		if _, ok := allowed[route.path]; !ok {
			paths = append(paths, route.path)
		}
		allowed[route.path] = append(allowed[route.path], route.method)
	}
	// Without these patterns, the catch-all "/" below would return 404 rather
	// than 405 for a known path with the wrong method.
	for _, path := range paths {
		mux.HandleFunc(path, methodNotAllowed(allowed[path]))
	}
	mux.HandleFunc("/", s.handleNotFound)

	if s.logger == nil {
		return mux
	}
	return s.logRequests(mux)
}

func methodNotAllowed(methods []string) http.HandlerFunc {
	allow := strings.Join(methods, ", ")
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", allow)
		http.Error(w, "Method "+r.Method+" is not allowed. Use "+allow+".", http.StatusMethodNotAllowed)
	}
}

// logWarn logs a rejected request if Options.Logger is set. Callers pass
// client ids, user ids and reasons, never token or code values.
func (s *Server) logWarn(msg string, args ...any) {
	if s.logger != nil {
		s.logger.Warn(msg, args...)
	}
}

// statusRecorder keeps the status code that a handler wrote, for logging.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(status int) {
	r.status = status
	r.ResponseWriter.WriteHeader(status)
}

// logRequests logs method, path, status and duration of each request. It
// leaves out the query string because redirects and authorize requests carry
// codes and state values there.
func (s *Server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		recorder := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(recorder, r)
		s.logger.Info("request",
			"method", r.Method,
			"path", r.URL.Path,
			"status", recorder.status,
			"duration_ms", time.Since(start).Milliseconds(),
		)
	})
}
