package pdsim

import (
	"crypto/subtle"
	"net/http"
)

// handleRevoke serves POST /oauth/revoke with the form parameters token and
// client_id, and client_secret if the client sends it.
// ASSUMPTION: PagerDuty does not document this endpoint, but some public clients
// post token and client_id to it. The simulator follows RFC 7009: revoking a
// refresh token revokes its whole grant, revoking an access token revokes only
// that token, and an unknown token still gets 200 with an empty body. A token
// issued to another client fails with invalid_grant and stays valid.
func (s *Server) handleRevoke(w http.ResponseWriter, r *http.Request) {
	if s.applyFailure(w, r, EndpointRevoke) {
		return
	}

	form, oerr := readForm(w, r)
	if oerr != nil {
		s.writeOAuthError(w, r, oerr)
		return
	}
	if r.Header.Get("Authorization") != "" {
		s.writeOAuthError(w, r, invalidClient("The Authorization header is not supported. Send client_id in the request body."))
		return
	}
	clientID := form.Get("client_id")
	if clientID == "" {
		s.writeOAuthError(w, r, invalidClient("The client_id parameter is missing."))
		return
	}
	value := secret(form.Get("token"))
	if value == "" {
		s.writeOAuthError(w, r, invalidRequest("The token parameter is missing."))
		return
	}

	s.mu.Lock()
	defer s.mu.Unlock()

	app, ok := s.apps[clientID]
	if !ok {
		s.writeOAuthError(w, r, invalidClient("No app has the client id %q.", clientID))
		return
	}
	if form.Has("client_secret") && subtle.ConstantTimeCompare([]byte(form.Get("client_secret")), []byte(app.ClientSecret)) != 1 {
		s.writeOAuthError(w, r, invalidClient("The client secret is invalid for the app %q.", clientID))
		return
	}

	// RFC 7009 §2.1 makes the server search every token type, so the hint
	// token_type_hint only speeds up the search and the simulator ignores it.
	if token, ok := s.accessTokens[value]; ok {
		if token.clientID != clientID {
			s.writeOAuthError(w, r, invalidGrant("The token was issued to another client."))
			return
		}
		delete(s.accessTokens, value)
	} else if token, ok := s.refreshTokens[value]; ok {
		if token.clientID != clientID {
			s.writeOAuthError(w, r, invalidGrant("The token was issued to another client."))
			return
		}
		s.revokeGrantLocked(token.grantID)
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
}

// RevokeAllTokens revokes every access and refresh token of the app, like the
// "Revoke All Tokens" button of an app in PagerDuty. It returns how many of
// the revoked tokens were still active. Authorization codes not yet exchanged
// stay valid.
func (s *Server) RevokeAllTokens(clientID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()

	now := s.nowLocked()
	revoked := 0
	for value, token := range s.accessTokens {
		if token.clientID == clientID {
			delete(s.accessTokens, value)
			if now.Before(token.expiresAt) {
				revoked++
			}
		}
	}
	for value, token := range s.refreshTokens {
		if token.clientID == clientID {
			delete(s.refreshTokens, value)
			if !token.rotated && now.Before(token.expiresAt) {
				revoked++
			}
		}
	}
	for id, g := range s.grants {
		if g.clientID == clientID {
			delete(s.grants, id)
		}
	}
	return revoked
}
