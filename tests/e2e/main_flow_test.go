package e2e

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/pd-mattermost/mattermost-plugin-pagerduty/tests/e2e/harness"
	"github.com/pd-mattermost/mattermost-plugin-pagerduty/tests/pdsim"
)

const (
	pluginID       = "mattermost-pagerduty"
	simClientID    = "e2e-client-id"
	simSecret      = "e2e-client-secret"
	eventTimeout   = 15 * time.Second
	statePrefix    = "oauth_state_"
	linkPrefix     = "link_"
	linkChanged    = model.WebsocketEventType("custom_" + pluginID + "_link_changed")
	connectPattern = `\((http://[^)]+/plugins/mattermost-pagerduty/oauth/connect)\)`
)

var connectLink = regexp.MustCompile(connectPattern)

// transcript prints each step to stdout when PD_TRANSCRIPT is set (make
// demo) and to the test log otherwise.
type transcript struct {
	t       *testing.T
	enabled bool
}

func newTranscript(t *testing.T) *transcript {
	return &transcript{t: t, enabled: os.Getenv("PD_TRANSCRIPT") != ""}
}

func (tr *transcript) step(format string, args ...any) {
	tr.t.Helper()
	line := fmt.Sprintf(format, args...)
	if tr.enabled {
		fmt.Printf("\n==> %s\n", line)
		return
	}
	tr.t.Log("step: " + line)
}

func (tr *transcript) reply(who, text string) {
	tr.t.Helper()
	if tr.enabled {
		for _, line := range strings.Split(strings.TrimSpace(text), "\n") {
			fmt.Printf("    [%s] %s\n", who, line)
		}
		return
	}
	tr.t.Logf("%s: %s", who, text)
}

// bundlePath returns the bundle that `make dist` built, or PD_BUNDLE.
func bundlePath(t *testing.T) string {
	t.Helper()
	path := os.Getenv("PD_BUNDLE")
	if path == "" {
		matches, _ := filepath.Glob(filepath.Join(harness.ModuleRoot(t), "..", "..", "dist", pluginID+"-*.tar.gz"))
		if len(matches) != 1 {
			t.Fatalf("no plugin bundle: run `make dist` first or set PD_BUNDLE (found %v)", matches)
		}
		path = matches[0]
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("plugin bundle %s: %v; run `make dist` first", path, err)
	}
	return path
}

// env is everything the main-flow steps share.
type env struct {
	t       *testing.T
	tr      *transcript
	mm      *harness.Mattermost
	sim     *pdsim.Server
	simURL  string
	admin   *harness.User
	alice   *harness.User
	mallory *harness.User
	team    *model.Team
	channel *model.Channel
}

func (e *env) run(user *harness.User, command string) string {
	e.t.Helper()
	response, err := harness.ExecuteCommand(user.Client, e.channel.Id, command)
	if err != nil {
		e.t.Fatalf("%s: %v", command, err)
	}
	if response.ResponseType != model.CommandResponseTypeEphemeral {
		e.t.Errorf("%s: response type %q, expected ephemeral", command, response.ResponseType)
	}
	e.tr.reply(user.Username+" "+command, response.Text)
	return response.Text
}

func (e *env) linkValue(user *harness.User) (string, bool) {
	e.t.Helper()
	value, found := e.mm.KVValue(e.t, pluginID, linkPrefix+user.Id)
	return string(value), found
}

func (e *env) requireNoLink(user *harness.User, when string) {
	e.t.Helper()
	if value, found := e.linkValue(user); found {
		e.t.Fatalf("%s: %s has a stored link, expected none: %s", when, user.Username, value)
	}
}

func (e *env) autocompleteTriggers(user *harness.User) []string {
	e.t.Helper()
	suggestions, err := harness.AutocompleteSuggestions(user.Client, e.team.Id, e.channel.Id, "/pd ")
	if err != nil {
		e.t.Fatal(err)
	}
	var triggers []string
	for _, suggestion := range suggestions {
		triggers = append(triggers, suggestion.Complete)
	}
	return triggers
}

// waitForAutocomplete polls until the user's suggestions contain (or lack)
// "pd <subcommand>", because the plugin re-registers its command after a
// configuration change.
func (e *env) waitForAutocomplete(user *harness.User, subcommand string, present bool) []string {
	e.t.Helper()
	deadline := time.Now().Add(eventTimeout)
	for {
		triggers := e.autocompleteTriggers(user)
		found := false
		for _, trigger := range triggers {
			if trigger == "pd "+subcommand {
				found = true
			}
		}
		if found == present {
			return triggers
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("autocomplete for %s: %q present=%v, expected %v (suggestions %v)", user.Username, subcommand, found, present, triggers)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// pointPluginAtSimulator sets the advanced URL settings as an admin would
// in the System Console.
func (e *env) pointPluginAtSimulator() {
	e.t.Helper()
	ctx := e.t.Context()
	config, _, err := e.admin.Client.GetConfig(ctx)
	if err != nil {
		e.t.Fatalf("get config: %v", err)
	}
	settings := config.PluginSettings.Plugins[pluginID]
	if settings == nil {
		settings = map[string]any{}
	}
	settings["identityurl"] = e.simURL
	settings["apiurl"] = e.simURL
	config.PluginSettings.Plugins[pluginID] = settings
	if _, _, err := e.admin.Client.UpdateConfig(ctx, config); err != nil {
		e.t.Fatalf("update config: %v", err)
	}
}

// connectURL runs /pd connect and returns the link in its reply.
func (e *env) connectURL(user *harness.User) string {
	e.t.Helper()
	text := e.run(user, "/pd connect")
	match := connectLink.FindStringSubmatch(text)
	if match == nil {
		e.t.Fatalf("/pd connect reply has no connect link: %q", text)
	}
	if !strings.HasPrefix(match[1], e.mm.URL+"/") {
		e.t.Fatalf("connect link %q is not on the site URL %q", match[1], e.mm.URL)
	}
	return match[1]
}

// startBrowserFlow opens the connect link and waits on the simulator's
// consent page, signing in at the simulator first when needed. It returns
// the authorize URL.
func (e *env) startBrowserFlow(browser *harness.Browser, user *harness.User, pagerDutyEmail string) *url.URL {
	e.t.Helper()
	browser.Navigate(e.connectURL(user))
	body := browser.BodyText()
	if strings.Contains(body, "Sign in") && !strings.Contains(body, "Authorize") {
		browser.Type("#email", pagerDutyEmail)
		browser.Click("#sign-in")
	}
	browser.WaitVisible("#authorize")
	location, err := url.Parse(browser.URL())
	if err != nil {
		e.t.Fatal(err)
	}
	return location
}

// finishOnResultPage waits for the plugin's result page and returns its text.
func (e *env) finishOnResultPage(browser *harness.Browser) string {
	e.t.Helper()
	browser.WaitVisible("#title")
	text := browser.BodyText()
	e.tr.reply("browser", text)
	return text
}

func TestMainFlow(t *testing.T) {
	bundle := bundlePath(t)
	tr := newTranscript(t)
	started := time.Now()

	tr.step("Starting PostgreSQL, a real Mattermost server and the PagerDuty simulator on loopback")
	mm := harness.StartMattermost(t, harness.MattermostOptions{})
	e := &env{t: t, tr: tr, mm: mm}
	e.admin = mm.CreateAdmin(t, "admin")
	e.alice = mm.CreateUser(t, "alice")
	e.mallory = mm.CreateUser(t, "mallory")
	e.team = mm.CreateTeam(t, "pagerduty-e2e", e.alice, e.mallory)
	e.channel = mm.CreateChannel(t, e.team.Id, "town", e.alice, e.mallory)

	e.sim = pdsim.New(pdsim.Options{
		Apps: []pdsim.App{{
			ClientID:     simClientID,
			ClientSecret: simSecret,
			RedirectURIs: []string{mm.URL + "/plugins/" + pluginID + "/oauth/complete"},
		}},
		Users: []pdsim.User{
			{ID: "PADA001", Name: "Ada Lovelace", Email: "ada@example.com", Subdomain: "acme", AccountID: "PACME01"},
			{ID: "PMAL001", Name: "Mallory Mayhem", Email: "mallory@example.com", Subdomain: "acme", AccountID: "PACME01"},
		},
	})
	simURL, err := e.sim.Start("127.0.0.2:0")
	if err != nil {
		t.Fatalf("start simulator: %v", err)
	}
	t.Cleanup(func() { _ = e.sim.Close() })
	e.simURL = simURL
	tr.step("Mattermost at %s, simulator at %s", mm.URL, simURL)

	tr.step("Uploading and enabling %s", filepath.Base(bundle))
	enableStarted := time.Now()
	mm.UploadPlugin(t, bundle)
	mm.EnablePlugin(t, pluginID)
	tr.step("Plugin running %s after the enable request", time.Since(enableStarted).Round(time.Millisecond))
	e.pointPluginAtSimulator()

	adminEvents := mm.ListenEvents(t, e.admin)
	aliceEvents := mm.ListenEvents(t, e.alice)

	t.Run("before configuration", func(t *testing.T) {
		e.t = t
		tr.step("No configuration yet: what users and admins see")
		text := e.run(e.mallory, "/pd configure")
		if !strings.Contains(text, "Only a system admin") {
			t.Errorf("non-admin /pd configure: %q, expected a rejection", text)
		}
		text = e.run(e.alice, "/pd connect")
		if !strings.Contains(text, "Ask a system admin to run `/pd configure`") {
			t.Errorf("/pd connect before configuration: %q", text)
		}
		text = e.run(e.admin, "/pd connect")
		if !strings.Contains(text, "Run `/pd configure`") {
			t.Errorf("admin /pd connect before configuration: %q", text)
		}
		triggers := e.waitForAutocomplete(e.alice, "connect", false)
		for _, trigger := range triggers {
			if trigger == "pd configure" {
				t.Errorf("user autocomplete offers configure: %v", triggers)
			}
		}
		e.waitForAutocomplete(e.alice, "help", true)
		e.waitForAutocomplete(e.admin, "configure", true)
	})

	t.Run("configure dialog", func(t *testing.T) {
		e.t = t
		tr.step("/pd configure works in every kind of channel: first a direct message, where the dialog opens")
		direct := harness.DirectChannel(t, e.admin, e.alice)
		if _, err := harness.ExecuteCommand(e.admin.Client, direct.Id, "/pd configure"); err != nil {
			t.Fatal(err)
		}
		opened := harness.EventDialog(t, adminEvents.Next(t, model.WebsocketEventOpenDialog, eventTimeout))
		if opened.Dialog.Title != "Configure PagerDuty" {
			t.Errorf("dialog title %q", opened.Dialog.Title)
		}

		tr.step("Then a group message, where the dialog opens too")
		group, _, err := e.admin.Client.CreateGroupChannel(t.Context(), []string{e.admin.Id, e.alice.Id, e.mallory.Id})
		if err != nil {
			t.Fatalf("create group message: %v", err)
		}
		if _, err := harness.ExecuteCommand(e.admin.Client, group.Id, "/pd configure"); err != nil {
			t.Fatal(err)
		}
		opened = harness.EventDialog(t, adminEvents.Next(t, model.WebsocketEventOpenDialog, eventTimeout))
		if opened.Dialog.Title != "Configure PagerDuty" {
			t.Errorf("dialog title in a group message %q", opened.Dialog.Title)
		}

		tr.step("Then a public channel, where the admin submits the Client ID and Client Secret")
		if _, err := harness.ExecuteCommand(e.admin.Client, e.channel.Id, "/pd configure"); err != nil {
			t.Fatal(err)
		}
		opened = harness.EventDialog(t, adminEvents.Next(t, model.WebsocketEventOpenDialog, eventTimeout))

		invalid := harness.DialogSubmission(opened, e.channel.Id, e.team.Id, map[string]any{
			"client_id": "has spaces", "client_secret": "",
		})
		response, err := harness.SubmitDialog(e.admin.Client, invalid)
		if err != nil {
			t.Fatal(err)
		}
		if response.Errors["client_id"] == "" || response.Errors["client_secret"] == "" {
			t.Errorf("invalid submission errors = %v, expected both fields", response.Errors)
		}

		stolen := harness.DialogSubmission(opened, e.channel.Id, e.team.Id, map[string]any{
			"client_id": "attacker", "client_secret": "attacker",
		})
		if _, err := harness.SubmitDialog(e.mallory.Client, stolen); err == nil {
			config, _, _ := e.admin.Client.GetConfig(t.Context())
			if config.PluginSettings.Plugins[pluginID]["clientid"] == "attacker" {
				t.Fatal("a non-admin's dialog submission changed the configuration")
			}
		}

		valid := harness.DialogSubmission(opened, e.channel.Id, e.team.Id, map[string]any{
			"client_id": "  " + simClientID + " ", "client_secret": simSecret,
		})
		response, err = harness.SubmitDialog(e.admin.Client, valid)
		if err != nil {
			t.Fatal(err)
		}
		if len(response.Errors) != 0 || response.Error != "" {
			t.Fatalf("valid submission rejected: %+v", response)
		}
		saved := adminEvents.NextMatching(t, model.WebsocketEventEphemeralMessage, eventTimeout, func(event *model.WebSocketEvent) bool {
			return strings.Contains(harness.EventPost(t, event).Message, "Saved")
		})
		posted := harness.EventPost(t, saved)
		tr.reply("bot to admin", posted.Message)
		redirect := mm.URL + "/plugins/" + pluginID + "/oauth/complete"
		if !strings.Contains(posted.Message, redirect) {
			t.Errorf("configure reply %q lacks the redirect URI %q", posted.Message, redirect)
		}
		if strings.Contains(posted.Message, simSecret) {
			t.Error("configure reply contains the client secret")
		}

		config, _, err := e.admin.Client.GetConfig(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if got := config.PluginSettings.Plugins[pluginID]["clientid"]; got != simClientID {
			t.Errorf("saved clientid = %v, expected the trimmed %q", got, simClientID)
		}

		tr.step("Autocomplete now offers connect and disconnect to every user")
		e.waitForAutocomplete(e.alice, "connect", true)
		triggers := e.waitForAutocomplete(e.alice, "disconnect", true)
		tr.reply("autocomplete for alice", strings.Join(triggers, ", "))
		e.run(e.alice, "/pd help")

		if _, err := harness.ExecuteCommand(e.admin.Client, e.channel.Id, "/pd configure"); err != nil {
			t.Fatal(err)
		}
		reopened := harness.EventDialog(t, adminEvents.Next(t, model.WebsocketEventOpenDialog, eventTimeout))
		if reopened.Dialog.Elements[0].Default != simClientID {
			t.Errorf("reopened dialog Client ID default = %q", reopened.Dialog.Elements[0].Default)
		}
		if reopened.Dialog.Elements[1].Default != "" {
			t.Error("reopened dialog sends the stored secret back")
		}
	})
	e.t = t

	browser := harness.NewBrowser(t)
	browser.SignIn(mm, e.alice)
	var callbackURL string

	t.Run("connect through PagerDuty consent", func(t *testing.T) {
		e.t = t
		tr.step("alice runs /pd connect, opens the link in Chromium, signs in at PagerDuty and clicks Authorize")
		authorize := e.startBrowserFlow(browser, e.alice, "ada@example.com")
		query := authorize.Query()
		checks := map[string]string{
			"client_id":             simClientID,
			"redirect_uri":          mm.URL + "/plugins/" + pluginID + "/oauth/complete",
			"response_type":         "code",
			"scope":                 "write",
			"code_challenge_method": "S256",
		}
		for name, expected := range checks {
			if got := query.Get(name); got != expected {
				t.Errorf("authorize %s = %q, expected %q", name, got, expected)
			}
		}
		if len(query.Get("state")) != 43 || len(query.Get("code_challenge")) != 43 {
			t.Errorf("authorize state/code_challenge have unexpected lengths: %q", authorize.RawQuery)
		}
		tr.reply("browser", "PagerDuty consent page, screenshot "+browser.Screenshot("consent-page"))
		browser.Click("#authorize")
		text := e.finishOnResultPage(browser)
		browser.Screenshot("linked-page")
		callbackURL = browser.URL()
		if !strings.Contains(text, "Ada Lovelace") || !strings.Contains(text, "ada@example.com") {
			t.Errorf("result page does not name the PagerDuty user: %q", text)
		}
		if !strings.Contains(text, "close this window") {
			t.Errorf("result page does not say the window can be closed: %q", text)
		}

		stored, found := e.linkValue(e.alice)
		if !found {
			t.Fatal("no link stored after a successful flow")
		}
		if !strings.Contains(stored, `"pagerduty_user_id":"PADA001"`) {
			t.Errorf("stored link %s lacks the PagerDuty user id", stored)
		}
		if keys := mm.KVKeys(t, pluginID, statePrefix); len(keys) != 0 {
			t.Errorf("states left after the flow: %v", keys)
		}

		direct := aliceEvents.NextMatching(t, model.WebsocketEventPosted, eventTimeout, func(event *model.WebSocketEvent) bool {
			return strings.Contains(harness.EventPost(t, event).Message, "now linked")
		})
		tr.reply("bot to alice", harness.EventPost(t, direct).Message)

		changed := aliceEvents.Next(t, linkChanged, eventTimeout)
		if changed.GetData()["linked"] != true || changed.GetData()["name"] != "Ada Lovelace" {
			t.Errorf("link_changed event data = %v, expected linked as Ada Lovelace", changed.GetData())
		}
		tr.reply("websocket to alice", fmt.Sprintf("%s %v", changed.EventType(), changed.GetData()))
	})

	t.Run("replayed callback", func(t *testing.T) {
		e.t = t
		tr.step("Replaying the callback URL fails and changes nothing")
		before, _ := e.linkValue(e.alice)
		browser.Navigate(callbackURL)
		text := e.finishOnResultPage(browser)
		if !strings.Contains(text, "expired or was already used") {
			t.Errorf("replay page: %q", text)
		}
		after, _ := e.linkValue(e.alice)
		if before != after {
			t.Error("a replayed callback changed the stored link")
		}
	})

	t.Run("link survives plugin restart", func(t *testing.T) {
		e.t = t
		tr.step("The plugin is disabled and enabled again; the link survives")
		mm.DisablePlugin(t, pluginID)
		mm.EnablePlugin(t, pluginID)
		text := e.run(e.alice, "/pd connect")
		if !strings.Contains(text, "already linked") || !strings.Contains(text, "Ada Lovelace") {
			t.Errorf("/pd connect when linked: %q", text)
		}
		text = e.run(e.alice, "/pd status")
		if !strings.Contains(text, "Ada Lovelace") || !strings.Contains(text, "**acme**") {
			t.Errorf("/pd status when linked: %q", text)
		}
	})

	t.Run("disconnect", func(t *testing.T) {
		e.t = t
		tr.step("alice runs /pd disconnect twice")
		text := e.run(e.alice, "/pd disconnect")
		if !strings.Contains(text, "Disconnected") || !strings.Contains(text, "Ada Lovelace") {
			t.Errorf("/pd disconnect: %q", text)
		}
		e.requireNoLink(e.alice, "after /pd disconnect")
		changed := aliceEvents.Next(t, linkChanged, eventTimeout)
		if changed.GetData()["linked"] != false {
			t.Errorf("link_changed event after disconnect = %v, expected linked false", changed.GetData())
		}
		text = e.run(e.alice, "/pd disconnect")
		if !strings.Contains(text, "not linked") || !strings.Contains(text, "/pd connect") {
			t.Errorf("second /pd disconnect: %q", text)
		}
	})

	t.Run("callback with another user's state", func(t *testing.T) {
		e.t = t
		tr.step("mallory opens a callback carrying alice's state: rejected, and alice's flow still works")
		authorize := e.startBrowserFlow(browser, e.alice, "ada@example.com")
		state := authorize.Query().Get("state")

		malloryBrowser := harness.NewBrowser(t)
		malloryBrowser.SignIn(mm, e.mallory)
		forged := mm.URL + "/plugins/" + pluginID + "/oauth/complete?code=forged&state=" + url.QueryEscape(state)
		malloryBrowser.Navigate(forged)
		text := e.finishOnResultPage(malloryBrowser)
		if !strings.Contains(text, "another Mattermost account") {
			t.Errorf("cross-user callback page: %q", text)
		}
		e.requireNoLink(e.mallory, "after a cross-user callback")
		if keys := mm.KVKeys(t, pluginID, statePrefix); len(keys) != 1 {
			t.Errorf("alice's state was spent by mallory's request: states %v", keys)
		}

		browser.Click("#authorize")
		text = e.finishOnResultPage(browser)
		if !strings.Contains(text, "Ada Lovelace") {
			t.Errorf("alice's flow after the cross-user attempt: %q", text)
		}
		if _, found := e.linkValue(e.alice); !found {
			t.Error("alice's flow did not store a link")
		}
		e.run(e.alice, "/pd disconnect")
	})

	t.Run("deny at consent", func(t *testing.T) {
		e.t = t
		tr.step("alice clicks Deny at PagerDuty, which sends an error_description containing HTML")
		e.sim.SetDenyDescription(`<script>alert("pd")</script><b>bold</b>`)
		e.startBrowserFlow(browser, e.alice, "ada@example.com")
		browser.Click("#deny")
		text := e.finishOnResultPage(browser)
		browser.Screenshot("denied-page")
		if !strings.Contains(text, "not granted") || !strings.Contains(text, "/pd connect") {
			t.Errorf("deny page: %q", text)
		}
		e.requireNoLink(e.alice, "after Deny")
	})

	t.Run("error description with HTML", func(t *testing.T) {
		e.t = t
		tr.step("A callback with another OAuth error and HTML in its description shows the HTML as plain text")
		state := startFlowOverHTTP(t, mm, e.alice)
		query := url.Values{
			"state":             {state},
			"error":             {"temporarily_unavailable"},
			"error_description": {`<img src=x onerror=alert(1)>`},
		}
		status, body := getWithSession(t, mm, e.alice, "/plugins/"+pluginID+"/oauth/complete?"+query.Encode())
		if status != http.StatusBadRequest {
			t.Errorf("status %d, expected 400", status)
		}
		if strings.Contains(body, "<img") {
			t.Error("the error description reached the page as HTML")
		}
		if !strings.Contains(body, "&lt;img src=x onerror=alert(1)&gt;") {
			t.Errorf("the page does not show the escaped description: %s", body)
		}
		tr.reply("plugin", fmt.Sprintf("HTTP %d, the description shown as text", status))
		e.requireNoLink(e.alice, "after an error callback")
	})

	t.Run("rightful flow afterwards", func(t *testing.T) {
		e.t = t
		tr.step("After all the failures, alice links again")
		e.startBrowserFlow(browser, e.alice, "ada@example.com")
		browser.Click("#authorize")
		text := e.finishOnResultPage(browser)
		if !strings.Contains(text, "Ada Lovelace") {
			t.Errorf("final flow page: %q", text)
		}
		if _, found := e.linkValue(e.alice); !found {
			t.Error("final flow stored no link")
		}
	})

	t.Run("offboarding", func(t *testing.T) {
		e.t = t
		tr.step("The admin lists who is linked and removes alice's link with /pd disconnect @alice")
		text := e.run(e.admin, "/pd links")
		if !strings.Contains(text, `\@alice`) || !strings.Contains(text, "Ada Lovelace") {
			t.Errorf("/pd links: %q", text)
		}
		text = e.run(e.admin, "/pd disconnect @alice")
		if !strings.Contains(text, `Disconnected \@alice`) {
			t.Errorf("/pd disconnect @alice: %q", text)
		}
		e.requireNoLink(e.alice, "after /pd disconnect @alice")
		told := aliceEvents.NextMatching(t, model.WebsocketEventPosted, eventTimeout, func(event *model.WebSocketEvent) bool {
			return strings.Contains(harness.EventPost(t, event).Message, "A system admin disconnected")
		})
		tr.reply("bot to alice", harness.EventPost(t, told).Message)

		tr.step("alice links again; then the admin deactivates her account, which removes the link")
		e.startBrowserFlow(browser, e.alice, "ada@example.com")
		browser.Click("#authorize")
		e.finishOnResultPage(browser)
		if _, found := e.linkValue(e.alice); !found {
			t.Fatal("alice's relink stored no link")
		}
		if _, err := e.admin.Client.UpdateUserActive(t.Context(), e.alice.Id, false); err != nil {
			t.Fatalf("deactivate alice: %v", err)
		}
		deadline := time.Now().Add(eventTimeout)
		for {
			if _, found := e.linkValue(e.alice); !found {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("alice's link is still stored after her deactivation")
			}
			time.Sleep(100 * time.Millisecond)
		}
		tr.reply("plugin", "alice's link was removed after her deactivation")
	})

	tr.step("End-to-end flow finished in %s", time.Since(started).Round(time.Millisecond))
}

// startFlowOverHTTP opens the connect route with the user's session and
// returns the state from the redirect to the authorize page.
func startFlowOverHTTP(t *testing.T, mm *harness.Mattermost, user *harness.User) string {
	t.Helper()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	request, err := http.NewRequestWithContext(t.Context(), http.MethodGet, mm.URL+"/plugins/"+pluginID+"/oauth/connect", nil)
	if err != nil {
		t.Fatal(err)
	}
	request.Header.Set("Authorization", "Bearer "+user.Client.AuthToken)
	response, err := client.Do(request)
	if err != nil {
		t.Fatal(err)
	}
	defer response.Body.Close()
	if response.StatusCode != http.StatusFound {
		t.Fatalf("connect route status %d, expected 302", response.StatusCode)
	}
	location, err := url.Parse(response.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	return location.Query().Get("state")
}

// getWithSession sends a GET to a server path with the user's session token.
func getWithSession(t *testing.T, mm *harness.Mattermost, user *harness.User, path string) (int, string) {
	t.Helper()
	request, err := http.NewRequestWithContext(t.Context(), http.MethodGet, mm.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	request.Header.Set("Authorization", "Bearer "+user.Client.AuthToken)
	response, err := http.DefaultClient.Do(request)
	if err != nil {
		t.Fatal(err)
	}
	defer response.Body.Close()
	body, err := io.ReadAll(response.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response.StatusCode, string(body)
}
