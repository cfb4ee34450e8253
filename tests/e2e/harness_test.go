package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/pd-mattermost/mattermost-plugin-pagerduty/tests/e2e/harness"
)

// TestHarnessSmoke starts every component of the end-to-end tests once:
// PostgreSQL, Mattermost, a websocket listener, Chromium and a probe plugin
// that covers slash commands, dialogs, plugin routes and the KV store.
func TestHarnessSmoke(t *testing.T) {
	started := time.Now()
	pg := harness.StartPostgres(t)
	t.Logf("PostgreSQL ready in %s", time.Since(started).Round(time.Millisecond))

	started = time.Now()
	mm := harness.StartMattermost(t, harness.MattermostOptions{Postgres: pg})
	t.Logf("Mattermost ready at %s in %s", mm.URL, time.Since(started).Round(time.Millisecond))

	admin := mm.CreateAdmin(t, "admin")
	if !strings.Contains(admin.Roles, model.SystemAdminRoleId) {
		t.Errorf("admin roles = %q, expected %q", admin.Roles, model.SystemAdminRoleId)
	}
	alice := mm.CreateUser(t, "alice")
	if strings.Contains(alice.Roles, model.SystemAdminRoleId) {
		t.Errorf("alice roles = %q, expected no %q", alice.Roles, model.SystemAdminRoleId)
	}

	ctx := t.Context()
	status, _, err := alice.Client.GetPing(ctx)
	if err != nil {
		t.Fatalf("ping: %v", err)
	}
	if status != model.StatusOk {
		t.Errorf("ping status = %q, expected %q", status, model.StatusOk)
	}

	me, _, err := alice.Client.GetMe(ctx, "")
	if err != nil {
		t.Fatalf("GET /api/v4/users/me: %v", err)
	}
	if me.Id != alice.Id {
		t.Errorf("users/me id = %q, expected alice's id %q", me.Id, alice.Id)
	}

	team := mm.CreateTeam(t, "smoke", alice)
	channel := mm.CreateChannel(t, team.Id, "smoke-channel", alice)
	direct := harness.DirectChannel(t, alice, admin)
	if direct.Type != model.ChannelTypeDirect {
		t.Errorf("direct channel type = %q, expected %q", direct.Type, model.ChannelTypeDirect)
	}

	t.Run("server applies every MM variable", func(t *testing.T) {
		// The server reports the config fields that environment variables
		// set. A misspelled variable sets nothing and would be missing.
		applied, _, err := admin.Client.GetEnvironmentConfig(ctx)
		if err != nil {
			t.Fatalf("get environment config: %v", err)
		}
		appliedNames := map[string]bool{}
		for section, fields := range applied {
			fieldMap, ok := fields.(map[string]any)
			if !ok {
				continue
			}
			for field := range fieldMap {
				appliedNames[strings.ToUpper("MM_"+section+"_"+field)] = true
			}
		}

		for _, variable := range mm.Environment() {
			name, _, _ := strings.Cut(variable, "=")
			if strings.HasPrefix(name, "MM_") && !appliedNames[name] {
				t.Errorf("server ignored %s", name)
			}
		}
	})

	t.Run("outbound features are off", func(t *testing.T) {
		config, _, err := admin.Client.GetConfig(ctx)
		if err != nil {
			t.Fatalf("get config: %v", err)
		}
		flags := map[string]*bool{
			"LogSettings.EnableDiagnostics":              config.LogSettings.EnableDiagnostics,
			"LogSettings.EnableSentry":                   config.LogSettings.EnableSentry,
			"PluginSettings.EnableMarketplace":           config.PluginSettings.EnableMarketplace,
			"PluginSettings.AutomaticPrepackagedPlugins": config.PluginSettings.AutomaticPrepackagedPlugins,
			"AnnouncementSettings.AdminNoticesEnabled":   config.AnnouncementSettings.AdminNoticesEnabled,
			"AnnouncementSettings.UserNoticesEnabled":    config.AnnouncementSettings.UserNoticesEnabled,
			"ServiceSettings.EnableSecurityFixAlert":     config.ServiceSettings.EnableSecurityFixAlert,
			"ServiceSettings.EnableLinkPreviews":         config.ServiceSettings.EnableLinkPreviews,
			"ImageProxySettings.Enable":                  config.ImageProxySettings.Enable,
			"EmailSettings.SendEmailNotifications":       config.EmailSettings.SendEmailNotifications,
			"EmailSettings.SendPushNotifications":        config.EmailSettings.SendPushNotifications,
			"ServiceSettings.EnableLocalMode":            config.ServiceSettings.EnableLocalMode,
		}
		for name, value := range flags {
			if value == nil || *value {
				t.Errorf("%s is on, expected off", name)
			}
		}
	})

	t.Run("websocket delivers posts", func(t *testing.T) {
		events := mm.ListenEvents(t, alice)
		post, _, err := admin.Client.CreatePost(ctx, &model.Post{ChannelId: channel.Id, Message: "hello from the smoke test"})
		if err != nil {
			t.Fatalf("create post: %v", err)
		}

		event := events.Next(t, model.WebsocketEventPosted, 10*time.Second)
		received := harness.EventPost(t, event)
		if received.Id != post.Id {
			t.Errorf("posted event has post %q, expected %q", received.Id, post.Id)
		}
	})

	t.Run("built-in slash command", func(t *testing.T) {
		response, err := harness.ExecuteCommand(alice.Client, channel.Id, "/echo smoke")
		if err != nil {
			t.Fatalf("execute /echo: %v", err)
		}
		if response == nil {
			t.Fatal("execute /echo returned no command response")
		}
	})

	t.Run("plugin KV store starts empty", func(t *testing.T) {
		if keys := mm.KVKeys(t, probePluginID, ""); len(keys) != 0 {
			t.Errorf("KV keys = %v, expected none", keys)
		}
		if _, found := mm.KVValue(t, probePluginID, "missing"); found {
			t.Error("KVValue found a key that was never set")
		}
	})

	t.Run("probe plugin installs", func(t *testing.T) {
		started := time.Now()
		bundle := buildProbeBundle(t)
		t.Logf("probe plugin built in %s", time.Since(started).Round(time.Millisecond))

		manifest := mm.UploadPlugin(t, bundle)
		if manifest.Id != probePluginID {
			t.Errorf("uploaded manifest id = %q, expected %q", manifest.Id, probePluginID)
		}
		mm.EnablePlugin(t, probePluginID)
	})

	t.Run("autocomplete suggestions", func(t *testing.T) {
		cases := map[string]string{"/ech": "echo", "/prob": "probe"}
		for input, expected := range cases {
			suggestions, err := harness.AutocompleteSuggestions(alice.Client, team.Id, channel.Id, input)
			if err != nil {
				t.Fatalf("autocomplete %q: %v", input, err)
			}
			found := false
			for _, suggestion := range suggestions {
				if suggestion.Complete == expected {
					found = true
				}
			}
			if !found {
				t.Errorf("suggestions for %q = %+v, expected one completing to %q", input, suggestions, expected)
			}
		}
	})

	t.Run("dialog submission reaches plugin", func(t *testing.T) {
		events := mm.ListenEvents(t, alice)
		if _, err := harness.ExecuteCommand(alice.Client, channel.Id, "/probe"); err != nil {
			t.Fatalf("execute /probe: %v", err)
		}

		ephemeral := harness.EventPost(t, events.Next(t, model.WebsocketEventEphemeralMessage, 10*time.Second))
		if ephemeral.Message != "probe ephemeral" {
			t.Errorf("ephemeral post = %q, expected %q", ephemeral.Message, "probe ephemeral")
		}
		opened := harness.EventDialog(t, events.Next(t, model.WebsocketEventOpenDialog, 10*time.Second))
		if opened.URL != "/plugins/"+probePluginID+"/dialog" {
			t.Errorf("dialog URL = %q, expected the plugin's /dialog route", opened.URL)
		}

		submission := harness.DialogSubmission(opened, channel.Id, team.Id, map[string]any{"name": "probe-name"})
		if _, err := harness.SubmitDialog(alice.Client, submission); err != nil {
			t.Fatalf("submit dialog: %v", err)
		}

		expected := map[string]string{
			"dialog-header-user": alice.Id,
			"dialog-body-user":   alice.Id,
			"dialog-name":        "probe-name",
		}
		for key, expectedValue := range expected {
			value, found := mm.KVValue(t, probePluginID, key)
			if !found {
				t.Errorf("KV key %q missing", key)
			} else if string(value) != expectedValue {
				t.Errorf("KV key %q = %q, expected %q", key, value, expectedValue)
			}
		}
		keys := mm.KVKeys(t, probePluginID, "dialog-")
		if strings.Join(keys, ",") != "dialog-body-user,dialog-header-user,dialog-name" {
			t.Errorf("KV keys with prefix dialog- = %v, expected the three dialog keys", keys)
		}
	})

	t.Run("browser session", func(t *testing.T) {
		browser := harness.NewBrowser(t)
		browser.SignIn(mm, alice)

		browser.Navigate(mm.URL + "/api/v4/users/me")
		if body := browser.BodyText(); !strings.Contains(body, alice.Id) {
			t.Errorf("users/me in the browser = %q, expected alice's id %q", body, alice.Id)
		}
		if url := browser.URL(); url != mm.URL+"/api/v4/users/me" {
			t.Errorf("browser URL = %q, expected %q", url, mm.URL+"/api/v4/users/me")
		}
		browser.Screenshot("users-me")

		browser.Navigate(mm.URL + "/plugins/" + probePluginID + "/whoami")
		if body := browser.BodyText(); body != "user:"+alice.Id {
			t.Errorf("plugin route in the browser = %q, expected %q", body, "user:"+alice.Id)
		}
	})

	t.Run("restart keeps data", func(t *testing.T) {
		started := time.Now()
		mm.Restart(t)
		t.Logf("Mattermost restarted in %s", time.Since(started).Round(time.Millisecond))

		me, _, err := alice.Client.GetMe(ctx, "")
		if err != nil {
			t.Fatalf("GET /api/v4/users/me after restart: %v", err)
		}
		if me.Id != alice.Id {
			t.Errorf("users/me id after restart = %q, expected %q", me.Id, alice.Id)
		}
		mm.WaitForPluginState(t, probePluginID, model.PluginStateRunning, time.Minute)
	})

	t.Run("probe plugin disables", func(t *testing.T) {
		mm.DisablePlugin(t, probePluginID)
		if state := mm.PluginState(t, probePluginID); state != model.PluginStateNotRunning {
			t.Errorf("plugin state = %d, expected %d (not running)", state, model.PluginStateNotRunning)
		}
	})
}
