package pdsim

import (
	"net/http"
	"net/url"
	"testing"
)

func TestRevokeAccessToken(t *testing.T) {
	env := newTestEnv(t)
	tokens := env.signInAndGetTokens(t, classicClientID, "read", ada)
	form := url.Values{"token": {tokens["access_token"].(string)}, "client_id": {classicClientID}}

	resp, _ := postForm(t, http.DefaultClient, env.url+"/oauth/revoke", form)

	if resp.StatusCode != http.StatusOK {
		t.Errorf("revoke status = %d, want 200", resp.StatusCode)
	}
	if resp, _ := env.getMe(t, tokens["access_token"].(string)); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("/users/me after revoke: status = %d, want 401", resp.StatusCode)
	}
	// Revoking an access token leaves the refresh token working.
	if resp, body := env.postToken(t, refreshForm(classicClientID, tokens["refresh_token"].(string))); resp.StatusCode != http.StatusOK {
		t.Errorf("refresh after access revoke: status = %d, want 200; body %v", resp.StatusCode, body)
	}
}

func TestRevokeRefreshTokenRevokesGrant(t *testing.T) {
	env := newTestEnv(t)
	tokens := env.signInAndGetTokens(t, classicClientID, "read", ada)
	form := url.Values{"token": {tokens["refresh_token"].(string)}, "client_id": {classicClientID}}

	resp, _ := postForm(t, http.DefaultClient, env.url+"/oauth/revoke", form)

	if resp.StatusCode != http.StatusOK {
		t.Errorf("revoke status = %d, want 200", resp.StatusCode)
	}
	if resp, _ := env.getMe(t, tokens["access_token"].(string)); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("/users/me after revoke: status = %d, want 401", resp.StatusCode)
	}
	resp, body := env.postToken(t, refreshForm(classicClientID, tokens["refresh_token"].(string)))
	wantOAuthError(t, resp, body, http.StatusBadRequest, "invalid_grant")
}

func TestRevokeEdgeCases(t *testing.T) {
	env := newTestEnv(t)
	tokens := env.signInAndGetTokens(t, classicClientID, "read", ada)

	resp, _ := postForm(t, http.DefaultClient, env.url+"/oauth/revoke", url.Values{"token": {"unknown"}, "client_id": {classicClientID}})
	if resp.StatusCode != http.StatusOK {
		t.Errorf("unknown token: status = %d, want 200", resp.StatusCode)
	}

	resp, _ = postForm(t, http.DefaultClient, env.url+"/oauth/revoke", url.Values{"token": {tokens["access_token"].(string)}, "client_id": {scopedClientID}})
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("token of another client: status = %d, want 400", resp.StatusCode)
	}
	if resp, _ := env.getMe(t, tokens["access_token"].(string)); resp.StatusCode != http.StatusOK {
		t.Errorf("token revoked by another client: /users/me status = %d, want 200", resp.StatusCode)
	}

	resp, _ = postForm(t, http.DefaultClient, env.url+"/oauth/revoke", url.Values{"token": {"x"}, "client_id": {"nobody"}})
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("unknown client: status = %d, want 401", resp.StatusCode)
	}

	resp, _ = postForm(t, http.DefaultClient, env.url+"/oauth/revoke", url.Values{"client_id": {classicClientID}})
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("missing token: status = %d, want 400", resp.StatusCode)
	}
}

func TestRevokeAllTokens(t *testing.T) {
	env := newTestEnv(t)
	classic := env.signInAndGetTokens(t, classicClientID, "read", ada)
	env.signInAndGetTokens(t, classicClientID, "read", grace)
	scoped := env.signInAndGetTokens(t, scopedClientID, "users.read", ada)

	revoked := env.sim.RevokeAllTokens(classicClientID)

	if revoked != 4 {
		t.Errorf("RevokeAllTokens = %d, want 4", revoked)
	}
	if resp, _ := env.getMe(t, classic["access_token"].(string)); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("classic token: status = %d, want 401", resp.StatusCode)
	}
	if resp, _ := env.getMe(t, scoped["access_token"].(string)); resp.StatusCode != http.StatusOK {
		t.Errorf("scoped token: status = %d, want 200", resp.StatusCode)
	}
	if env.sim.ActiveAccessTokens() != 1 {
		t.Errorf("ActiveAccessTokens = %d, want 1", env.sim.ActiveAccessTokens())
	}
}
