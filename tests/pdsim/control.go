package pdsim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

// Endpoints that failure injection can target.
const (
	EndpointToken   = "token"    // POST /oauth/token
	EndpointUsersMe = "users/me" // GET /users/me
	EndpointRevoke  = "revoke"   // POST /oauth/revoke
)

// Failure replaces or delays the responses of one endpoint.
type Failure struct {
	// Endpoint is EndpointToken, EndpointUsersMe or EndpointRevoke.
	Endpoint string
	// Status is the response status. Zero means no injected response, so the
	// request is only delayed and then served normally.
	Status int
	// Body is the response body, sent as it is.
	Body string
	// Headers are extra response headers. Content-Type defaults to
	// application/json when Body is not empty.
	Headers map[string]string
	// Delay is how long the request waits before the injected response or normal handling.
	Delay time.Duration
	// Count is how many requests the failure affects. Zero means every request
	// until ClearFailures.
	Count int
}

// failureRule is an injected Failure and the requests it still affects.
type failureRule struct {
	failure   Failure
	remaining int // 0 means unlimited
}

func validateFailure(f Failure) error {
	switch f.Endpoint {
	case EndpointToken, EndpointUsersMe, EndpointRevoke:
	default:
		return fmt.Errorf("pdsim: failure endpoint %q is unknown (use %q, %q or %q)", f.Endpoint, EndpointToken, EndpointUsersMe, EndpointRevoke)
	}
	if f.Status != 0 && (f.Status < 100 || f.Status > 599) {
		return fmt.Errorf("pdsim: failure status %d is not an HTTP status code", f.Status)
	}
	if f.Status == 0 && f.Delay <= 0 {
		return errors.New("pdsim: failure needs a status, a delay or both")
	}
	if f.Delay < 0 || f.Count < 0 {
		return errors.New("pdsim: failure delay and count must not be negative")
	}
	return nil
}

// InjectFailure adds a failure for an endpoint. Failures apply in the order
// they were added, and each request uses the first one for its endpoint.
// It panics if the failure is invalid.
func (s *Server) InjectFailure(f Failure) {
	if err := validateFailure(f); err != nil {
		panic(err)
	}
	s.addFailure(f)
}

func (s *Server) addFailure(f Failure) {
	headers := make(map[string]string, len(f.Headers))
	for name, value := range f.Headers {
		headers[name] = value
	}
	f.Headers = headers

	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures = append(s.failures, &failureRule{failure: f, remaining: f.Count})
}

// ClearFailures removes every injected failure.
func (s *Server) ClearFailures() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures = nil
}

// takeFailure returns the first failure for endpoint and uses up one of its requests.
func (s *Server) takeFailure(endpoint string) (Failure, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()

	for i, rule := range s.failures {
		if rule.failure.Endpoint != endpoint {
			continue
		}
		if rule.remaining > 0 {
			rule.remaining--
			if rule.remaining == 0 {
				s.failures = append(s.failures[:i:i], s.failures[i+1:]...)
			}
		}
		return rule.failure, true
	}
	return Failure{}, false
}

// applyFailure applies the next failure for endpoint. It returns true if it
// wrote the response, or if the client went away during the delay, and false
// if the handler should serve the request normally.
func (s *Server) applyFailure(w http.ResponseWriter, r *http.Request, endpoint string) bool {
	f, ok := s.takeFailure(endpoint)
	if !ok {
		return false
	}
	if s.logger != nil {
		s.logger.Info("applying injected failure", "endpoint", endpoint, "status", f.Status, "delay_ms", f.Delay.Milliseconds())
	}

	if f.Delay > 0 {
		// The server notices a closed connection, and cancels the request
		// context, only after the handler has read the body. Buffering it
		// here lets a client that gives up end the delay early.
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxFormBytes))
		if err != nil {
			http.Error(w, "pdsim: the request body could not be read or is too large", http.StatusRequestEntityTooLarge)
			return true
		}
		r.Body = io.NopCloser(bytes.NewReader(body))

		timer := time.NewTimer(f.Delay)
		defer timer.Stop()
		select {
		case <-timer.C:
		case <-r.Context().Done():
			return true
		}
	}
	if f.Status == 0 {
		return false
	}

	for name, value := range f.Headers {
		w.Header().Set(name, value)
	}
	if f.Body != "" && w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(f.Status)
	_, _ = w.Write([]byte(f.Body))
	return true
}

// failureJSON is the body of POST /_sim/failures.
type failureJSON struct {
	Endpoint string            `json:"endpoint"`
	Status   int               `json:"status"`
	Body     string            `json:"body"`
	Headers  map[string]string `json:"headers"`
	DelayMS  int64             `json:"delay_ms"`
	Count    int               `json:"count"`
}

func writeControlError(w http.ResponseWriter, err error) {
	writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
}

// decodeControlBody decodes a JSON control request and rejects unknown fields,
// so a misspelled field fails loudly.
func decodeControlBody(w http.ResponseWriter, r *http.Request, v any) bool {
	decoder := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxFormBytes))
	decoder.DisallowUnknownFields()
	if err := decoder.Decode(v); err != nil {
		writeControlError(w, fmt.Errorf("pdsim: invalid JSON body: %w", err))
		return false
	}
	return true
}

// handleAddFailure serves POST /_sim/failures with a JSON failureJSON.
func (s *Server) handleAddFailure(w http.ResponseWriter, r *http.Request) {
	var body failureJSON
	if !decodeControlBody(w, r, &body) {
		return
	}
	f := Failure{
		Endpoint: body.Endpoint,
		Status:   body.Status,
		Body:     body.Body,
		Headers:  body.Headers,
		Delay:    time.Duration(body.DelayMS) * time.Millisecond,
		Count:    body.Count,
	}
	if err := validateFailure(f); err != nil {
		writeControlError(w, err)
		return
	}
	s.addFailure(f)
	w.WriteHeader(http.StatusNoContent)
}

// handleClearFailures serves DELETE /_sim/failures.
func (s *Server) handleClearFailures(w http.ResponseWriter, r *http.Request) {
	s.ClearFailures()
	w.WriteHeader(http.StatusNoContent)
}

// handleStats serves GET /_sim/stats with the JSON of Stats.
func (s *Server) handleStats(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.Stats())
}

// handleSetDenyDescription serves POST /_sim/deny_description with {"description": "..."}.
func (s *Server) handleSetDenyDescription(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Description string `json:"description"`
	}
	if !decodeControlBody(w, r, &body) {
		return
	}
	s.SetDenyDescription(body.Description)
	w.WriteHeader(http.StatusNoContent)
}

// handleRevokeAll serves POST /_sim/revoke_all with {"client_id": "..."} and
// returns {"revoked": N}.
func (s *Server) handleRevokeAll(w http.ResponseWriter, r *http.Request) {
	var body struct {
		ClientID string `json:"client_id"`
	}
	if !decodeControlBody(w, r, &body) {
		return
	}
	writeJSON(w, http.StatusOK, map[string]int{"revoked": s.RevokeAllTokens(body.ClientID)})
}

// handleAdvanceClock serves POST /_sim/clock with {"advance_ms": N}.
func (s *Server) handleAdvanceClock(w http.ResponseWriter, r *http.Request) {
	var body struct {
		AdvanceMS int64 `json:"advance_ms"`
	}
	if !decodeControlBody(w, r, &body) {
		return
	}
	if body.AdvanceMS < 0 {
		writeControlError(w, errors.New("pdsim: advance_ms must not be negative"))
		return
	}
	s.AdvanceClock(time.Duration(body.AdvanceMS) * time.Millisecond)
	w.WriteHeader(http.StatusNoContent)
}

// handleAddApp serves POST /_sim/apps with the JSON of an App.
func (s *Server) handleAddApp(w http.ResponseWriter, r *http.Request) {
	var app App
	if !decodeControlBody(w, r, &app) {
		return
	}
	if err := app.Validate(); err != nil {
		writeControlError(w, err)
		return
	}
	s.AddApp(app)
	w.WriteHeader(http.StatusNoContent)
}

// handleAddUser serves POST /_sim/users with the JSON of a User.
func (s *Server) handleAddUser(w http.ResponseWriter, r *http.Request) {
	var user User
	if !decodeControlBody(w, r, &user) {
		return
	}
	user, err := normalizeUser(user)
	if err != nil {
		writeControlError(w, err)
		return
	}

	s.mu.Lock()
	err = s.storeUserLocked(user)
	s.mu.Unlock()
	if err != nil {
		writeControlError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
