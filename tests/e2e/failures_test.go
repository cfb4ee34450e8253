package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/pd-mattermost/mattermost-plugin-pagerduty/tests/e2e/harness"
	"github.com/pd-mattermost/mattermost-plugin-pagerduty/tests/pdsim"
)

const (
	pagerDutyUserPrefix = "pd_user_"
	refreshLockPrefix   = "refresh_lock_"
	statusConfirmed     = "PagerDuty confirmed that the link works."

	// failuresAccessTokenTTL is the simulator's access token lifetime. It is
	// shorter than the plugin's 5-minute refresh margin, so every
	// `/pd status` refreshes the access token before it calls /users/me.
	failuresAccessTokenTTL = 2 * time.Minute
	// flowTimeout bounds one connect flow. The plugin's token request gives
	// up after 20 seconds, so a flow that waits on it ends well before.
	flowTimeout = 45 * time.Second
	// pluginTimeout bounds a plugin state change after a restart.
	pluginTimeout = time.Minute
)

// Simulator users by index. Each Mattermost user links its own PagerDuty
// user, because the plugin links a PagerDuty user to one account only.
const (
	simRevokedUser = iota
	simFailingUser
	simRacingUser
	simSwitchingUser
	// simLoadFirst is the first of the loadUsers simulator users of the
	// concurrent connect test.
	simLoadFirst = 10
)

func failuresSimUserID(i int) string {
	return fmt.Sprintf("PFLR%03d", i)
}

func failuresSimEmail(i int) string {
	return fmt.Sprintf("pd-user-%03d@example.com", i)
}

// storedLink is the part of a `link_<user id>` record that the tests read.
type storedLink struct {
	PagerDutyUserID string  `json:"pagerduty_user_id"`
	AccessToken     string  `json:"access_token"`
	RefreshToken    *string `json:"refresh_token"`
}

// commandUser is an account that runs slash commands in the shared channel.
type commandUser struct {
	id       string
	username string
	client   *model.Client4
}

// failuresEnv is the server, simulator and accounts that the failure and
// load subtests share.
type failuresEnv struct {
	t       *testing.T
	mm      *harness.Mattermost
	sim     *pdsim.Server
	admin   *harness.User
	team    *model.Team
	channel *model.Channel
	// bench reuses the benchmark helpers that configure the plugin and
	// create logged-in accounts.
	bench *benchEnv
	// linked lists the accounts whose links the server restart must keep.
	linked []commandUser
}

func TestFailures(t *testing.T) {
	bundle := bundlePath(t)
	// The load accounts join the shared team, which holds more than the
	// server's default of 50 members.
	mm := harness.StartMattermost(t, harness.MattermostOptions{Env: map[string]string{
		"MM_TEAMSETTINGS_MAXUSERSPERTEAM": "100",
	}})
	e := &failuresEnv{t: t, mm: mm}
	e.admin = mm.CreateAdmin(t, "admin")
	revoked := mm.CreateUser(t, "revoked")
	failing := mm.CreateUser(t, "failing")
	racing := mm.CreateUser(t, "racing")
	switching := mm.CreateUser(t, "switching")
	members := []*harness.User{revoked, failing, racing, switching}
	e.team = mm.CreateTeam(t, "pagerduty-failures", members...)
	e.channel = mm.CreateChannel(t, e.team.Id, "failures", members...)

	var simUsers []pdsim.User
	for i := range simLoadFirst + loadUsers {
		simUsers = append(simUsers, pdsim.User{
			ID: failuresSimUserID(i), Name: fmt.Sprintf("PagerDuty User %d", i), Email: failuresSimEmail(i),
			Subdomain: "acme", AccountID: "PACME01",
		})
	}
	e.sim = pdsim.New(pdsim.Options{
		Apps: []pdsim.App{{
			ClientID:     simClientID,
			ClientSecret: simSecret,
			RedirectURIs: []string{mm.URL + "/plugins/" + pluginID + "/oauth/complete"},
		}},
		Users:          simUsers,
		AccessTokenTTL: failuresAccessTokenTTL,
	})
	simURL, err := e.sim.Start("127.0.0.2:0")
	if err != nil {
		t.Fatalf("start simulator: %v", err)
	}
	t.Cleanup(func() { _ = e.sim.Close() })

	mm.UploadPlugin(t, bundle)
	mm.EnablePlugin(t, pluginID)
	e.bench = &benchEnv{t: t, mm: mm, sim: e.sim, simURL: simURL, admin: e.admin, user: e.admin, channelID: e.channel.Id}
	e.bench.configurePlugin()

	// This subtest runs first, because RevokeAllTokens revokes the tokens of
	// every link that exists at that moment.
	t.Run("revoked tokens", func(t *testing.T) {
		e.t = t
		e.testRevokedTokens(revoked)
	})
	t.Run("callback failures", func(t *testing.T) {
		e.t = t
		e.testCallbackFailures(failing)
	})
	t.Run("concurrent refresh", func(t *testing.T) {
		e.t = t
		e.testConcurrentRefresh(racing)
	})
	t.Run("plugin restart mid-flow", func(t *testing.T) {
		e.t = t
		e.testPluginRestartMidFlow(switching)
	})
	t.Run("concurrent connects", func(t *testing.T) {
		e.t = t
		e.testConcurrentConnects()
	})
	t.Run("server restart keeps links", func(t *testing.T) {
		e.t = t
		e.testServerRestart()
	})
}

func asCommandUser(user *harness.User) commandUser {
	return commandUser{id: user.Id, username: user.Username, client: user.Client}
}

// run runs a slash command in the shared channel and returns the reply text.
func (e *failuresEnv) run(user commandUser, command string) string {
	e.t.Helper()
	response, err := harness.ExecuteCommand(user.client, e.channel.Id, command)
	if err != nil {
		e.t.Fatalf("%s as %s: %v", command, user.username, err)
	}
	e.t.Logf("%s %s: %s", user.username, command, response.Text)
	return response.Text
}

// link returns the user's stored link record, and false when none is stored.
func (e *failuresEnv) link(userID string) (storedLink, string, bool) {
	e.t.Helper()
	value, found := e.mm.KVValue(e.t, pluginID, linkPrefix+userID)
	if !found {
		return storedLink{}, "", false
	}
	var record storedLink
	if err := json.Unmarshal(value, &record); err != nil {
		e.t.Fatalf("stored link of %s is not JSON: %v: %s", userID, err, value)
	}
	return record, string(value), true
}

// requireLinkedTo fails the test unless the user's stored link names the
// simulator user simIndex.
func (e *failuresEnv) requireLinkedTo(userID string, simIndex int) storedLink {
	e.t.Helper()
	record, _, found := e.link(userID)
	if !found {
		e.t.Fatalf("no link stored for %s, expected one to %s", userID, failuresSimUserID(simIndex))
	}
	if record.PagerDutyUserID != failuresSimUserID(simIndex) {
		e.t.Fatalf("link of %s has pagerduty_user_id %q, expected %q", userID, record.PagerDutyUserID, failuresSimUserID(simIndex))
	}
	return record
}

// requireNothingStored fails the test if the user has a link, the simulator
// user has an index entry, or any OAuth state is left.
func (e *failuresEnv) requireNothingStored(userID string, simIndex int) {
	e.t.Helper()
	if _, value, found := e.link(userID); found {
		e.t.Errorf("a link is stored for %s, expected none: %s", userID, value)
	}
	if _, found := e.mm.KVValue(e.t, pluginID, pagerDutyUserPrefix+failuresSimUserID(simIndex)); found {
		e.t.Errorf("the index entry %s%s is stored, expected none", pagerDutyUserPrefix, failuresSimUserID(simIndex))
	}
	if keys := e.mm.KVKeys(e.t, pluginID, statePrefix); len(keys) != 0 {
		e.t.Errorf("OAuth states left: %v, expected none", keys)
	}
}

// connect runs a whole connect flow for the user as the simulator user
// simIndex and checks the stored link.
func (e *failuresEnv) connect(user commandUser, simIndex int) storedLink {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(e.t.Context(), flowTimeout)
	defer cancel()
	flow, err := newLinkFlow(e.mm.URL, failuresSimEmail(simIndex))
	if err != nil {
		e.t.Fatal(err)
	}
	if err := flow.link(ctx, user.client.AuthToken); err != nil {
		e.t.Fatalf("connect flow of %s: %v", user.username, err)
	}
	return e.requireLinkedTo(user.id, simIndex)
}

// startFlow runs a connect flow up to the consent decision and returns the
// callback URL that the simulator redirects to, with the code and state.
func (e *failuresEnv) startFlow(ctx context.Context, flow *linkFlow, token string) string {
	e.t.Helper()
	connect := e.mm.URL + "/plugins/" + pluginID + "/oauth/connect"
	status, location, body, err := flow.send(ctx, http.MethodGet, connect, token, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	if status != http.StatusFound {
		e.t.Fatalf("connect route status %d, expected 302: %s", status, body)
	}
	authorize, err := url.Parse(location)
	if err != nil {
		e.t.Fatalf("connect route redirect %q: %v", location, err)
	}

	status, _, body, err = flow.send(ctx, http.MethodGet, authorize.String(), "", nil)
	if err != nil {
		e.t.Fatal(err)
	}
	if status != http.StatusOK {
		e.t.Fatalf("authorize page status %d, expected 200: %s", status, body)
	}
	if !requestIDField.MatchString(body) {
		if body, err = flow.signIn(ctx, authorize); err != nil {
			e.t.Fatal(err)
		}
	}
	match := requestIDField.FindStringSubmatch(body)
	if match == nil {
		e.t.Fatalf("consent page has no request_id field: %s", body)
	}

	decision := authorize.ResolveReference(&url.URL{Path: "/oauth/authorize/decision"})
	form := url.Values{"request_id": {match[1]}, "decision": {"authorize"}}
	status, callback, body, err := flow.send(ctx, http.MethodPost, decision.String(), "", form)
	if err != nil {
		e.t.Fatal(err)
	}
	if status != http.StatusFound {
		e.t.Fatalf("consent decision status %d, expected 302: %s", status, body)
	}
	if !strings.HasPrefix(callback, e.mm.URL+"/plugins/"+pluginID+"/oauth/complete?") {
		e.t.Fatalf("consent decision redirects to %q, expected the plugin's callback", callback)
	}
	return callback
}

// callbackFailure is a failure of PagerDuty during the callback and the
// phrase that the plugin's error page must show for it.
type callbackFailure struct {
	name    string
	failure pdsim.Failure
	// pageText is a phrase that the error page must contain, besides a next step.
	pageText string
	// minDuration is how long the callback must at least take, for a
	// failure that the plugin's request timeout ends.
	minDuration time.Duration
}

func callbackFailures() []callbackFailure {
	return []callbackFailure{
		{
			name: "token endpoint 500",
			failure: pdsim.Failure{
				Endpoint: pdsim.EndpointToken, Status: http.StatusInternalServerError,
				Body: "internal error", Headers: map[string]string{"Content-Type": "text/plain"},
			},
			pageText: "Nothing was linked",
		},
		{
			name: "token invalid_grant",
			failure: pdsim.Failure{
				Endpoint: pdsim.EndpointToken, Status: http.StatusBadRequest,
				Body: `{"error":"invalid_grant","error_description":"The authorization code is invalid."}`,
			},
			pageText: "rejected the authorization code",
		},
		{
			name: "token malformed JSON",
			failure: pdsim.Failure{
				Endpoint: pdsim.EndpointToken, Status: http.StatusOK, Body: `{"access_token":`,
			},
			pageText: "unexpected reply",
		},
		{
			name: "token timeout",
			// Count 1 lets a retry of the plugin through at once, which
			// the checks would see as a link.
			failure:     pdsim.Failure{Endpoint: pdsim.EndpointToken, Delay: 25 * time.Second, Count: 1},
			pageText:    "could not be reached",
			minDuration: 15 * time.Second,
		},
		{
			name: "users me 401",
			failure: pdsim.Failure{
				Endpoint: pdsim.EndpointUsersMe, Status: http.StatusUnauthorized,
				Body: `{"error":{"message":"Unauthorized","code":2006}}`,
			},
			pageText: "did not accept the new access token",
		},
		{
			name: "users me 403 required scopes",
			failure: pdsim.Failure{
				Endpoint: pdsim.EndpointUsersMe, Status: http.StatusForbidden,
				Body: `{"error":{"message":"Token missing required scopes","code":0,"required_scopes":["users.read"]}}`,
			},
			pageText: "users.read",
		},
		{
			name: "users me 429 with ratelimit-reset",
			failure: pdsim.Failure{
				Endpoint: pdsim.EndpointUsersMe, Status: http.StatusTooManyRequests,
				Body:    `{"error":{"message":"Rate Limit Exceeded","code":2020}}`,
				Headers: map[string]string{"ratelimit-reset": "17"},
			},
			pageText: "in 17 seconds",
		},
		{
			name: "users me 429 without ratelimit-reset",
			failure: pdsim.Failure{
				Endpoint: pdsim.EndpointUsersMe, Status: http.StatusTooManyRequests,
				Body: `{"error":{"message":"Rate Limit Exceeded","code":2020}}`,
			},
			pageText: "in a minute",
		},
	}
}

// testCallbackFailures makes PagerDuty fail during the callback in each way
// of callbackFailures, checks that the page is an error with a next step
// and that nothing is stored, then links with the failure cleared.
func (e *failuresEnv) testCallbackFailures(user *harness.User) {
	parent := e.t
	for _, tc := range callbackFailures() {
		parent.Run(tc.name, func(t *testing.T) {
			e.t = t
			defer func() { e.t = parent }()
			defer e.sim.ClearFailures()
			ctx, cancel := context.WithTimeout(t.Context(), flowTimeout)
			defer cancel()

			flow, err := newLinkFlow(e.mm.URL, failuresSimEmail(simFailingUser))
			if err != nil {
				t.Fatal(err)
			}
			callback := e.startFlow(ctx, flow, user.Client.AuthToken)
			tokenRequests, apiRequests := e.sim.TokenRequests(), e.sim.APIRequests()
			e.sim.InjectFailure(tc.failure)

			started := time.Now()
			status, _, body, err := flow.send(ctx, http.MethodGet, callback, user.Client.AuthToken, nil)
			elapsed := time.Since(started)
			if err != nil {
				t.Fatalf("callback request: %v", err)
			}
			t.Logf("callback page after %s: HTTP %d %s", elapsed.Round(time.Millisecond), status, pageText(body))

			switch tc.failure.Endpoint {
			case pdsim.EndpointToken:
				if e.sim.TokenRequests() == tokenRequests {
					t.Error("the plugin sent no token request, so the failure was never applied")
				}
			case pdsim.EndpointUsersMe:
				if e.sim.APIRequests() == apiRequests {
					t.Error("the plugin sent no /users/me request, so the failure was never applied")
				}
			}
			if status != http.StatusBadGateway {
				t.Errorf("callback status %d, expected 502", status)
			}
			if !strings.Contains(body, "/pd connect") && !strings.Contains(body, "Try") {
				t.Errorf("callback page gives no next step (/pd connect or Try): %s", pageText(body))
			}
			if !strings.Contains(body, tc.pageText) {
				t.Errorf("callback page lacks %q: %s", tc.pageText, pageText(body))
			}
			if tc.minDuration > 0 && elapsed < tc.minDuration {
				t.Errorf("callback ended after %s, before the %s that a timed-out token request takes", elapsed, tc.minDuration)
			}
			e.requireNothingStored(user.Id, simFailingUser)

			e.sim.ClearFailures()
			e.connect(asCommandUser(user), simFailingUser)
			if text := e.run(asCommandUser(user), "/pd disconnect"); !strings.Contains(text, "Disconnected") {
				t.Errorf("/pd disconnect after the new attempt: %q", text)
			}
		})
	}
}

// pageElements matches the style and script elements of a result page.
var pageElements = regexp.MustCompile(`(?s)<(style|script)\b.*?</(style|script)>`)

// pageText returns the text of a result page without its markup, styles
// and scripts, for failure messages.
func pageText(body string) string {
	body = pageElements.ReplaceAllString(body, " ")
	var text strings.Builder
	inTag := false
	for _, r := range body {
		switch {
		case r == '<':
			inTag = true
		case r == '>':
			inTag = false
			text.WriteByte(' ')
		case !inTag:
			text.WriteRune(r)
		}
	}
	return strings.Join(strings.Fields(text.String()), " ")
}

// testRevokedTokens revokes the user's tokens in PagerDuty and checks that
// `/pd status` removes the link and sends one direct message about it.
func (e *failuresEnv) testRevokedTokens(user *harness.User) {
	t := e.t
	account := asCommandUser(user)
	e.connect(account, simRevokedUser)
	events := e.mm.ListenEvents(t, user)
	if revoked := e.sim.RevokeAllTokens(simClientID); revoked == 0 {
		t.Fatal("RevokeAllTokens revoked no token of the linked user")
	}

	text := e.run(account, "/pd status")
	if !strings.Contains(text, "link was removed") {
		t.Errorf("/pd status with revoked tokens: %q, expected that the link was removed", text)
	}
	if _, value, found := e.link(user.Id); found {
		t.Errorf("the link is still stored after PagerDuty rejected its refresh token: %s", value)
	}
	if _, found := e.mm.KVValue(t, pluginID, pagerDutyUserPrefix+failuresSimUserID(simRevokedUser)); found {
		t.Error("the PagerDuty user's index entry is still stored after the link was removed")
	}
	message := events.NextMatching(t, model.WebsocketEventPosted, eventTimeout, func(event *model.WebSocketEvent) bool {
		return strings.Contains(harness.EventPost(t, event).Message, "stopped working")
	})
	direct := harness.EventPost(t, message)

	text = e.run(account, "/pd status")
	if !strings.Contains(text, "not linked") {
		t.Errorf("second /pd status: %q, expected not linked", text)
	}
	posts, _, err := user.Client.GetPostsForChannel(t.Context(), direct.ChannelId, 0, 100, "", false, false)
	if err != nil {
		t.Fatalf("read the direct message channel: %v", err)
	}
	var notices []string
	for _, post := range posts.Posts {
		if strings.Contains(post.Message, "stopped working") {
			notices = append(notices, post.Message)
		}
	}
	if len(notices) != 1 {
		t.Errorf("%d direct messages say the link stopped working, expected 1: %q", len(notices), notices)
	}
}

// testConcurrentRefresh sends concurrent `/pd status` commands for one user
// whose access token needs a refresh, and checks that only one of them
// spends the refresh token.
func (e *failuresEnv) testConcurrentRefresh(user *harness.User) {
	const commands = 8
	t := e.t
	account := asCommandUser(user)
	e.connect(account, simRacingUser)
	_, before, _ := e.link(user.Id)
	tokenRequests := e.sim.TokenRequests()

	// The delay holds the first refresh open until every command has read
	// the old link. Without it, a command that starts after the refresh
	// finished would find a new token that again expires within the refresh
	// margin, because the simulator issues 2-minute tokens, and would
	// correctly refresh once more.
	e.sim.InjectFailure(pdsim.Failure{Endpoint: pdsim.EndpointToken, Delay: 3 * time.Second, Count: 1})
	defer e.sim.ClearFailures()

	replies := make([]string, commands)
	errs := make([]error, commands)
	var wait sync.WaitGroup
	for i := range commands {
		wait.Add(1)
		go func() {
			defer wait.Done()
			response, err := harness.ExecuteCommand(user.Client, e.channel.Id, "/pd status")
			if err != nil {
				errs[i] = err
				return
			}
			replies[i] = response.Text
		}()
	}
	wait.Wait()

	for i := range commands {
		if errs[i] != nil {
			t.Errorf("/pd status %d: %v", i, errs[i])
			continue
		}
		if !strings.Contains(replies[i], statusConfirmed) {
			t.Errorf("/pd status %d: %q, expected %q", i, replies[i], statusConfirmed)
		}
	}
	if spent := e.sim.TokenRequests() - tokenRequests; spent != 1 {
		t.Errorf("%d concurrent /pd status commands sent %d token requests, expected 1 refresh", commands, spent)
	}
	after := e.requireLinkedTo(user.Id, simRacingUser)
	var previous storedLink
	if err := json.Unmarshal([]byte(before), &previous); err != nil {
		t.Fatal(err)
	}
	if after.AccessToken == previous.AccessToken {
		t.Error("the stored access token did not change after the refresh")
	}
	if after.RefreshToken == nil || previous.RefreshToken == nil || *after.RefreshToken == *previous.RefreshToken {
		t.Error("the stored refresh token did not change after the refresh, although PagerDuty rotates it")
	}
	if keys := e.mm.KVKeys(t, pluginID, refreshLockPrefix); len(keys) != 0 {
		t.Errorf("refresh locks left after the commands: %v", keys)
	}
	e.linked = append(e.linked, account)
}

// testPluginRestartMidFlow disables and enables the plugin between the
// consent and the callback. The callback must then link or show an error
// page with a next step, and a new flow must work.
func (e *failuresEnv) testPluginRestartMidFlow(user *harness.User) {
	t := e.t
	account := asCommandUser(user)
	ctx, cancel := context.WithTimeout(t.Context(), flowTimeout)
	defer cancel()
	flow, err := newLinkFlow(e.mm.URL, failuresSimEmail(simSwitchingUser))
	if err != nil {
		t.Fatal(err)
	}
	callback := e.startFlow(ctx, flow, user.Client.AuthToken)
	if keys := e.mm.KVKeys(t, pluginID, statePrefix); len(keys) != 1 {
		t.Fatalf("OAuth states before the restart: %v, expected the flow's one", keys)
	}

	e.mm.DisablePlugin(t, pluginID)
	e.mm.EnablePlugin(t, pluginID)

	status, _, body, err := flow.send(ctx, http.MethodGet, callback, user.Client.AuthToken, nil)
	if err != nil {
		t.Fatalf("callback request: %v", err)
	}
	t.Logf("callback page after the plugin restart: HTTP %d %s", status, pageText(body))
	switch {
	case status == http.StatusOK && strings.Contains(body, "now linked"):
		e.requireLinkedTo(user.Id, simSwitchingUser)
		if text := e.run(account, "/pd disconnect"); !strings.Contains(text, "Disconnected") {
			t.Errorf("/pd disconnect after the linked callback: %q", text)
		}
	case status >= 400 && (strings.Contains(body, "/pd connect") || strings.Contains(body, "Try")):
		if _, value, found := e.link(user.Id); found {
			t.Errorf("the callback showed an error page but stored a link: %s", value)
		}
	default:
		t.Errorf("callback after the plugin restart: HTTP %d, expected a linked page or an error page with a next step: %s", status, pageText(body))
	}
	if keys := e.mm.KVKeys(t, pluginID, statePrefix); len(keys) != 0 {
		t.Errorf("OAuth states left after the callback: %v", keys)
	}

	e.connect(account, simSwitchingUser)
	e.linked = append(e.linked, account)
}
