package e2e

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/pd-mattermost/mattermost-plugin-pagerduty/tests/e2e/harness"
)

const (
	// loadUsers is how many accounts connect at once in the load subtest.
	loadUsers = 50
	// loadWorkers is how many connect flows and commands run at a time.
	loadWorkers = 10
	// loadTimeout bounds the concurrent flows, and the commands after the
	// server restart.
	loadTimeout = 2 * time.Minute
)

// testConcurrentConnects links loadUsers new accounts through the server
// with loadWorkers flows at a time, each as its own PagerDuty user, and
// checks that every link names its own user.
func (e *failuresEnv) testConcurrentConnects() {
	t := e.t
	e.bench.t = t
	users := e.bench.createLinkUsers(0, loadUsers)

	// The accounts join the shared channel, so that they can run `/pd
	// status` after the server restart.
	ids := make([]string, len(users))
	for i, user := range users {
		ids[i] = user.id
	}
	if _, _, err := e.admin.Client.AddTeamMembers(t.Context(), e.team.Id, ids); err != nil {
		t.Fatalf("add the load accounts to the team: %v", err)
	}
	if _, _, err := e.admin.Client.AddChannelMembers(t.Context(), e.channel.Id, "", ids); err != nil {
		t.Fatalf("add the load accounts to the channel: %v", err)
	}

	ctx, cancel := context.WithTimeout(t.Context(), loadTimeout)
	defer cancel()
	started := time.Now()
	errs := make([]error, len(users))
	err := runBounded(ctx, len(users), loadWorkers, func(ctx context.Context, _, i int) error {
		flow, err := newLinkFlow(e.mm.URL, failuresSimEmail(simLoadFirst+i))
		if err == nil {
			err = flow.link(ctx, users[i].token)
		}
		// Each flow's error is kept, so one failure does not hide the others.
		errs[i] = err
		return nil
	})
	if err != nil {
		t.Fatalf("connect flows: %v", err)
	}
	t.Logf("%d connect flows with %d workers took %s", len(users), loadWorkers, time.Since(started).Round(time.Millisecond))

	for i, user := range users {
		if errs[i] != nil {
			t.Errorf("connect flow %d as %s: %v", i, failuresSimEmail(simLoadFirst+i), errs[i])
			continue
		}
		record, value, found := e.link(user.id)
		if !found {
			t.Errorf("no link stored for account %d after its flow succeeded", i)
			continue
		}
		if record.PagerDutyUserID != failuresSimUserID(simLoadFirst+i) {
			t.Errorf("account %d is linked to %q, expected its own PagerDuty user %q: %s",
				i, record.PagerDutyUserID, failuresSimUserID(simLoadFirst+i), value)
		}
		client := e.mm.Client()
		client.SetToken(user.token)
		e.linked = append(e.linked, commandUser{id: user.id, username: fmt.Sprintf("linker%04d", i), client: client})
	}
	if keys := e.mm.KVKeys(t, pluginID, statePrefix); len(keys) != 0 {
		t.Errorf("%d OAuth states left after the flows, expected none", len(keys))
	}
}

// testServerRestart restarts the Mattermost server and checks that every
// link made before still works: `/pd status` refreshes its access token and
// PagerDuty confirms it.
func (e *failuresEnv) testServerRestart() {
	t := e.t
	if len(e.linked) == 0 {
		t.Fatal("no link was made before the restart")
	}
	before := e.mm.KVKeys(t, pluginID, linkPrefix)

	e.mm.Restart(t)
	e.mm.WaitForPluginState(t, pluginID, model.PluginStateRunning, pluginTimeout)

	after := e.mm.KVKeys(t, pluginID, linkPrefix)
	if !slices.Equal(before, after) {
		t.Errorf("link keys changed across the restart: %d before, %d after", len(before), len(after))
	}

	ctx, cancel := context.WithTimeout(t.Context(), loadTimeout)
	defer cancel()
	replies := make([]string, len(e.linked))
	errs := make([]error, len(e.linked))
	err := runBounded(ctx, len(e.linked), loadWorkers, func(_ context.Context, _, i int) error {
		response, err := harness.ExecuteCommand(e.linked[i].client, e.channel.Id, "/pd status")
		if err != nil {
			errs[i] = err
			return nil
		}
		replies[i] = response.Text
		return nil
	})
	if err != nil {
		t.Fatalf("/pd status commands: %v", err)
	}
	for i, user := range e.linked {
		if errs[i] != nil {
			t.Errorf("/pd status as %s after the restart: %v", user.username, errs[i])
			continue
		}
		if !strings.Contains(replies[i], statusConfirmed) {
			t.Errorf("/pd status as %s after the restart: %q, expected %q", user.username, replies[i], statusConfirmed)
		}
	}
}
