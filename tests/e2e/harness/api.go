package harness

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/model"
)

// userPassword meets the server's default password rules.
const userPassword = "Pd-e2e-Passw0rd!"

// User is a Mattermost account with a logged-in client.
type User struct {
	*model.User
	// Password is the account's password, for logging in again.
	Password string
	// Client is authenticated with a session token of the user.
	Client *model.Client4
}

// CreateAdmin creates the server's first account, which the server makes a
// system admin, logs it in and stores it in mm.Admin.
func (mm *Mattermost) CreateAdmin(t testing.TB, username string) *User {
	t.Helper()

	if mm.Admin != nil {
		t.Fatalf("CreateAdmin: the server already has the admin %q", mm.Admin.Username)
	}

	admin := mm.createUser(t, mm.Client(), username)
	if !strings.Contains(admin.Roles, model.SystemAdminRoleId) {
		t.Fatalf("CreateAdmin: %q has roles %q, expected %q; was it not the first account?", username, admin.Roles, model.SystemAdminRoleId)
	}
	mm.Admin = admin
	return admin
}

// CreateUser creates an account with the system_user role through the
// admin's client and logs it in. Call CreateAdmin first.
func (mm *Mattermost) CreateUser(t testing.TB, username string) *User {
	t.Helper()

	mm.requireAdmin(t, "CreateUser")
	return mm.createUser(t, mm.Admin.Client, username)
}

func (mm *Mattermost) createUser(t testing.TB, creator *model.Client4, username string) *User {
	t.Helper()

	ctx, cancel := testContext()
	defer cancel()

	created, _, err := creator.CreateUser(ctx, &model.User{
		Username: username,
		Email:    username + "@example.com",
		Password: userPassword,
	})
	if err != nil {
		t.Fatalf("create user %q: %v", username, err)
	}

	client := mm.Login(t, username, userPassword)
	return &User{User: created, Password: userPassword, Client: client}
}

// Login logs in with a username or email and password and returns a client
// that sends the new session token.
func (mm *Mattermost) Login(t testing.TB, loginID, password string) *model.Client4 {
	t.Helper()

	ctx, cancel := testContext()
	defer cancel()

	client := mm.Client()
	if _, _, err := client.Login(ctx, loginID, password); err != nil {
		t.Fatalf("log in as %q: %v", loginID, err)
	}
	return client
}

func (mm *Mattermost) requireAdmin(t testing.TB, caller string) {
	t.Helper()

	if mm.Admin == nil {
		t.Fatalf("%s needs a system admin: call CreateAdmin first", caller)
	}
}

// CreateTeam creates an open team as the admin and adds members to it. The
// server also adds every member to the team's town-square channel.
func (mm *Mattermost) CreateTeam(t testing.TB, name string, members ...*User) *model.Team {
	t.Helper()

	mm.requireAdmin(t, "CreateTeam")
	ctx, cancel := testContext()
	defer cancel()

	team, _, err := mm.Admin.Client.CreateTeam(ctx, &model.Team{
		Name:        name,
		DisplayName: name,
		Type:        model.TeamOpen,
	})
	if err != nil {
		t.Fatalf("create team %q: %v", name, err)
	}

	for _, member := range members {
		if _, _, err := mm.Admin.Client.AddTeamMember(ctx, team.Id, member.Id); err != nil {
			t.Fatalf("add %q to team %q: %v", member.Username, name, err)
		}
	}
	return team
}

// CreateChannel creates a public channel in the team as the admin and adds
// members to it.
func (mm *Mattermost) CreateChannel(t testing.TB, teamID, name string, members ...*User) *model.Channel {
	t.Helper()

	mm.requireAdmin(t, "CreateChannel")
	ctx, cancel := testContext()
	defer cancel()

	channel, _, err := mm.Admin.Client.CreateChannel(ctx, &model.Channel{
		TeamId:      teamID,
		Name:        name,
		DisplayName: name,
		Type:        model.ChannelTypeOpen,
	})
	if err != nil {
		t.Fatalf("create channel %q: %v", name, err)
	}

	for _, member := range members {
		if _, _, err := mm.Admin.Client.AddChannelMember(ctx, channel.Id, member.Id); err != nil {
			t.Fatalf("add %q to channel %q: %v", member.Username, name, err)
		}
	}
	return channel
}

// DirectChannel opens, or returns the existing, direct message channel
// between two users, as the first one.
func DirectChannel(t testing.TB, first, second *User) *model.Channel {
	t.Helper()

	ctx, cancel := testContext()
	defer cancel()

	channel, _, err := first.Client.CreateDirectChannel(ctx, first.Id, second.Id)
	if err != nil {
		t.Fatalf("open direct channel between %q and %q: %v", first.Username, second.Username, err)
	}
	return channel
}

// UploadPlugin uploads a plugin bundle (.tar.gz) as the admin, replacing an
// installed plugin with the same id, and returns its manifest. The plugin is
// installed but not enabled.
func (mm *Mattermost) UploadPlugin(t testing.TB, bundlePath string) *model.Manifest {
	t.Helper()

	mm.requireAdmin(t, "UploadPlugin")
	bundle, err := os.Open(bundlePath)
	if err != nil {
		t.Fatalf("open plugin bundle: %v", err)
	}
	defer bundle.Close()

	ctx, cancel := testContext()
	defer cancel()

	manifest, _, err := mm.Admin.Client.UploadPluginForced(ctx, bundle)
	if err != nil {
		t.Fatalf("upload plugin bundle %s: %v", bundlePath, err)
	}
	return manifest
}

// EnablePlugin enables a plugin as the admin and waits until it runs.
func (mm *Mattermost) EnablePlugin(t testing.TB, pluginID string) {
	t.Helper()

	mm.requireAdmin(t, "EnablePlugin")
	ctx, cancel := testContext()
	defer cancel()

	if _, err := mm.Admin.Client.EnablePlugin(ctx, pluginID); err != nil {
		t.Fatalf("enable plugin %s: %v", pluginID, err)
	}
	mm.WaitForPluginState(t, pluginID, model.PluginStateRunning, 30*time.Second)
}

// DisablePlugin disables a plugin as the admin and waits until it stops.
func (mm *Mattermost) DisablePlugin(t testing.TB, pluginID string) {
	t.Helper()

	mm.requireAdmin(t, "DisablePlugin")
	ctx, cancel := testContext()
	defer cancel()

	if _, err := mm.Admin.Client.DisablePlugin(ctx, pluginID); err != nil {
		t.Fatalf("disable plugin %s: %v", pluginID, err)
	}
	mm.WaitForPluginState(t, pluginID, model.PluginStateNotRunning, 30*time.Second)
}

// PluginState returns the plugin's model.PluginState* value, or -1 when the
// plugin is not installed.
func (mm *Mattermost) PluginState(t testing.TB, pluginID string) int {
	t.Helper()

	mm.requireAdmin(t, "PluginState")
	ctx, cancel := testContext()
	defer cancel()

	statuses, _, err := mm.Admin.Client.GetPluginStatuses(ctx)
	if err != nil {
		t.Fatalf("get plugin statuses: %v", err)
	}
	for _, status := range statuses {
		if status.PluginId == pluginID {
			return status.State
		}
	}
	return -1
}

// WaitForPluginState polls the plugin statuses until the plugin reaches
// state, for example after a server restart.
func (mm *Mattermost) WaitForPluginState(t testing.TB, pluginID string, state int, timeout time.Duration) {
	t.Helper()

	deadline := time.Now().Add(timeout)
	for {
		current := mm.PluginState(t, pluginID)
		if current == state {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("plugin %s is in state %d after %s, expected %d; see %s", pluginID, current, timeout, state, mm.LogPath)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
