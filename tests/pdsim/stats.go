package pdsim

// Stats is a snapshot of the simulator's counters.
type Stats struct {
	// TokenRequests counts requests that reached POST /oauth/token.
	TokenRequests int `json:"token_requests"`
	// APIRequests counts requests that reached GET /users/me.
	APIRequests int `json:"api_requests"`
	// IssuedCodes counts authorization codes issued.
	IssuedCodes int `json:"issued_codes"`
	// ActiveAccessTokens counts access tokens neither expired nor revoked.
	ActiveAccessTokens int `json:"active_access_tokens"`
	// ActiveRefreshTokens counts refresh tokens neither expired, rotated nor revoked.
	ActiveRefreshTokens int `json:"active_refresh_tokens"`
	// LastAPIAccept is the Accept header of the latest REST API request.
	LastAPIAccept string `json:"last_api_accept"`
	// PendingFailures counts injected failures that still apply.
	PendingFailures int `json:"pending_failures"`
}

// Stats returns a snapshot of the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()

	now := s.nowLocked()
	stats := Stats{
		TokenRequests:   s.tokenRequests,
		APIRequests:     s.apiRequests,
		IssuedCodes:     s.issuedCodes,
		LastAPIAccept:   s.lastAPIAccept,
		PendingFailures: len(s.failures),
	}
	for _, token := range s.accessTokens {
		if now.Before(token.expiresAt) {
			stats.ActiveAccessTokens++
		}
	}
	for _, token := range s.refreshTokens {
		if !token.rotated && now.Before(token.expiresAt) {
			stats.ActiveRefreshTokens++
		}
	}
	return stats
}

// TokenRequests returns how many requests reached POST /oauth/token.
func (s *Server) TokenRequests() int { return s.Stats().TokenRequests }

// APIRequests returns how many requests reached GET /users/me.
func (s *Server) APIRequests() int { return s.Stats().APIRequests }

// IssuedCodes returns how many authorization codes were issued.
func (s *Server) IssuedCodes() int { return s.Stats().IssuedCodes }

// ActiveAccessTokens returns how many access tokens are neither expired nor revoked.
func (s *Server) ActiveAccessTokens() int { return s.Stats().ActiveAccessTokens }

// ActiveRefreshTokens returns how many refresh tokens are neither expired,
// rotated nor revoked.
func (s *Server) ActiveRefreshTokens() int { return s.Stats().ActiveRefreshTokens }

// LastAPIAccept returns the Accept header of the latest GET /users/me
// request, or "" if it had none. PagerDuty documents AcceptV2 for REST API
// requests, but the simulator accepts any value.
func (s *Server) LastAPIAccept() string { return s.Stats().LastAPIAccept }
