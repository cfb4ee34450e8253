package e2e

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/pd-mattermost/mattermost-plugin-pagerduty/tests/e2e/harness"
	"github.com/pd-mattermost/mattermost-plugin-pagerduty/tests/pdsim"
)

// The server benchmarks run only when PD_BENCH is set (`make bench`), so
// `make test` skips them. PD_BENCH_CALLS, PD_BENCH_LINKS and
// PD_BENCH_WORKERS change the load. The defaults are the loads behind the
// figures in BENCHMARKS.md.
const (
	benchCommand       = "cd tests/e2e && PD_BENCH=1 go test -count=1 -v -timeout 30m -run '^TestServerBenchmarks$' ."
	baselinePluginID   = "pd-baseline"
	benchPassword      = "Pd-bench-Passw0rd!"
	helpPrefix         = "PagerDuty commands:"
	enableCycles       = 5
	latencyWarmupCalls = 200
	// Each loop also stops at its deadline, and the test then fails.
	latencyDeadline    = 10 * time.Minute
	userSetupDeadline  = 5 * time.Minute
	linkDeadline       = 10 * time.Minute
	enableReadyTimeout = 30 * time.Second
	// linkBatch is how many accounts are active at a time during the link
	// run: an unlicensed server rejects new accounts beyond 250 active ones.
	linkBatch = 200
)

var requestIDField = regexp.MustCompile(`name="request_id" value="([^"]+)"`)

// printFigure prints one measured figure on stdout, where `make bench` shows it.
func printFigure(name, value, target string) {
	if target == "" {
		target = "none"
	}
	fmt.Printf("bench: %-58s %s (target: %s)\n", name, value, target)
}

func envCount(t *testing.T, name string, fallback int) int {
	t.Helper()
	value := os.Getenv(name)
	if value == "" {
		return fallback
	}
	count, err := strconv.Atoi(value)
	if err != nil || count < 1 {
		t.Fatalf("%s=%q is invalid: set a positive integer or leave it unset for %d", name, value, fallback)
	}
	return count
}

func TestServerBenchmarks(t *testing.T) {
	if os.Getenv("PD_BENCH") == "" {
		t.Skip("set PD_BENCH=1 to run the server benchmarks (make bench)")
	}
	bundle := bundlePath(t)
	calls := envCount(t, "PD_BENCH_CALLS", 2000)
	links := envCount(t, "PD_BENCH_LINKS", 1000)
	workers := envCount(t, "PD_BENCH_WORKERS", 8)
	fmt.Printf("command: %s\n", benchCommand)
	fmt.Printf("load: %d calls per plugin, %d links with %d workers, %d enable cycles per plugin, %d CPUs\n",
		calls, links, workers, enableCycles, runtime.NumCPU())

	// INFO instead of the harness's DEBUG level, as a production server
	// logs, so that writing the log does not weigh on the figures.
	mm := harness.StartMattermost(t, harness.MattermostOptions{Env: map[string]string{
		"MM_LOGSETTINGS_CONSOLELEVEL": "INFO",
	}})
	b := &benchEnv{t: t, mm: mm}
	b.admin = mm.CreateAdmin(t, "admin")
	b.user = mm.CreateUser(t, "bench")
	team := mm.CreateTeam(t, "pagerduty-bench", b.user)
	b.channelID = mm.CreateChannel(t, team.Id, "bench", b.user).Id
	b.startSimulator(links)

	info, err := os.Stat(bundle)
	if err != nil {
		t.Fatal(err)
	}
	printFigure("bundle size", fmt.Sprintf("%d bytes (%.1f MB)", info.Size(), float64(info.Size())/1e6), "at most 15 MB")

	mm.UploadPlugin(t, bundle)
	first := b.enableToReady(pluginID, "/pd help", isHelpReply)
	printFigure("enable to ready, first activation", formatMillis(first), "at most 1 s")
	b.printRSS("plugin RSS after activation", "at most 40 MB")

	b.configurePlugin()
	b.installBaseline()

	b.measureLatency(calls)
	b.printRSS("plugin RSS after the latency run", "")

	b.measureLinks(links, workers)

	b.measureEnableCycles(pluginID, "/pd help", isHelpReply)
	b.measureEnableCycles(baselinePluginID, "/pdbase help", b.isBaselineReply)
}

// benchEnv is the state that the benchmark steps share.
type benchEnv struct {
	t         *testing.T
	mm        *harness.Mattermost
	sim       *pdsim.Server
	simURL    string
	admin     *harness.User
	user      *harness.User
	channelID string
	// helpText and adminHelpText are the live `/pd help` replies that the
	// baseline plugin returns too.
	helpText      string
	adminHelpText string
}

func isHelpReply(text string) bool {
	return strings.HasPrefix(text, helpPrefix)
}

func (b *benchEnv) isBaselineReply(text string) bool {
	return text == b.helpText
}

// simEmail returns the email of the simulator user for link i.
func simEmail(i int) string {
	return fmt.Sprintf("bench-%04d@example.com", i)
}

// startSimulator starts the simulator with one user for each link, because
// the plugin links each PagerDuty user to one Mattermost account only.
func (b *benchEnv) startSimulator(links int) {
	var users []pdsim.User
	for i := range links {
		users = append(users, pdsim.User{
			ID: fmt.Sprintf("PBEN%04d", i), Name: fmt.Sprintf("Bench User %d", i), Email: simEmail(i),
			Subdomain: "acme", AccountID: "PACME01",
		})
	}
	b.sim = pdsim.New(pdsim.Options{
		Apps: []pdsim.App{{
			ClientID:     simClientID,
			ClientSecret: simSecret,
			RedirectURIs: []string{b.mm.URL + "/plugins/" + pluginID + "/oauth/complete"},
		}},
		Users: users,
	})
	simURL, err := b.sim.Start("127.0.0.2:0")
	if err != nil {
		b.t.Fatalf("start simulator: %v", err)
	}
	b.t.Cleanup(func() { _ = b.sim.Close() })
	b.simURL = simURL
}

// runCommand runs a slash command as user and returns the reply text and
// how long the REST request took.
func (b *benchEnv) runCommand(user *harness.User, command string) (string, time.Duration, error) {
	started := time.Now()
	response, err := harness.ExecuteCommand(user.Client, b.channelID, command)
	elapsed := time.Since(started)
	if err != nil {
		return "", elapsed, err
	}
	return response.Text, elapsed, nil
}

// enableToReady sends the enable request and polls the command until its
// reply passes ready. It returns the time from sending the request to the
// first ready reply.
func (b *benchEnv) enableToReady(id, command string, ready func(string) bool) time.Duration {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.t.Context(), enableReadyTimeout)
	defer cancel()

	started := time.Now()
	if _, err := b.admin.Client.EnablePlugin(ctx, id); err != nil {
		b.t.Fatalf("enable plugin %s: %v", id, err)
	}
	var lastText string
	var lastErr error
	for ctx.Err() == nil {
		text, _, err := b.runCommand(b.user, command)
		if err == nil && ready(text) {
			return time.Since(started)
		}
		lastText, lastErr = text, err
		time.Sleep(5 * time.Millisecond)
	}
	b.t.Fatalf("%s not ready %s after enabling %s: last reply %q, error %v", command, enableReadyTimeout, id, lastText, lastErr)
	return 0
}

// measureEnableCycles disables and enables the plugin enableCycles times
// and prints the median and maximum enable-to-ready time.
func (b *benchEnv) measureEnableCycles(id, command string, ready func(string) bool) {
	b.t.Helper()
	var samples []time.Duration
	for range enableCycles {
		b.mm.DisablePlugin(b.t, id)
		samples = append(samples, b.enableToReady(id, command, ready))
	}
	slices.Sort(samples)
	target := ""
	if id == pluginID {
		target = "at most 1 s"
	}
	printFigure(fmt.Sprintf("enable to ready, %s, median of %d", id, enableCycles), formatMillis(samples[len(samples)/2]), target)
	printFigure(fmt.Sprintf("enable to ready, %s, max of %d", id, enableCycles), formatMillis(samples[len(samples)-1]), "")
}

// configurePlugin points the plugin at the simulator with the simulator
// app's credentials, as an admin would in the System Console, and waits
// until `/pd connect` offers a connect link.
func (b *benchEnv) configurePlugin() {
	b.t.Helper()
	b.updatePluginSettings(pluginID, map[string]any{
		"clientid":     simClientID,
		"clientsecret": simSecret,
		"identityurl":  b.simURL,
		"apiurl":       b.simURL,
	})
	deadline := time.Now().Add(eventTimeout)
	for {
		text, _, err := b.runCommand(b.user, "/pd connect")
		if err == nil && connectLink.MatchString(text) {
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("/pd connect offers no connect link %s after configuring: %q, error %v", eventTimeout, text, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (b *benchEnv) updatePluginSettings(id string, values map[string]any) {
	b.t.Helper()
	ctx := b.t.Context()
	config, _, err := b.admin.Client.GetConfig(ctx)
	if err != nil {
		b.t.Fatalf("get config: %v", err)
	}
	settings := config.PluginSettings.Plugins[id]
	if settings == nil {
		settings = map[string]any{}
	}
	for key, value := range values {
		settings[key] = value
	}
	config.PluginSettings.Plugins[id] = settings
	if _, _, err := b.admin.Client.UpdateConfig(ctx, config); err != nil {
		b.t.Fatalf("update config of %s: %v", id, err)
	}
}

// installBaseline copies the live `/pd help` replies into the baseline
// plugin's settings, then builds, uploads and enables the baseline.
func (b *benchEnv) installBaseline() {
	b.t.Helper()
	var err error
	if b.helpText, _, err = b.runCommand(b.user, "/pd help"); err != nil {
		b.t.Fatal(err)
	}
	if b.adminHelpText, _, err = b.runCommand(b.admin, "/pd help"); err != nil {
		b.t.Fatal(err)
	}
	b.updatePluginSettings(baselinePluginID, map[string]any{
		"helptext":      b.helpText,
		"adminhelptext": b.adminHelpText,
	})
	b.mm.UploadPlugin(b.t, buildBaselineBundle(b.t))
	elapsed := b.enableToReady(baselinePluginID, "/pdbase help", b.isBaselineReply)
	printFigure("enable to ready, baseline, first activation", formatMillis(elapsed), "")
}

// measureLatency warms both plugins up, then alternates `/pd help` and
// `/pdbase help` so that both see the same server state, and prints p50,
// p99 and their ratios.
func (b *benchEnv) measureLatency(calls int) {
	b.t.Helper()
	commands := []string{"/pd help", "/pdbase help"}
	samples := [][]time.Duration{make([]time.Duration, 0, calls), make([]time.Duration, 0, calls)}
	deadline := time.Now().Add(latencyDeadline)
	for i := range latencyWarmupCalls + calls {
		if time.Now().After(deadline) {
			b.t.Errorf("latency run stopped at its %s deadline after %d of %d pairs", latencyDeadline, i, latencyWarmupCalls+calls)
			break
		}
		// Alternate which command goes first, so neither always runs
		// right after the other.
		for j := range commands {
			index := (i + j) % len(commands)
			text, elapsed, err := b.runCommand(b.user, commands[index])
			if err != nil {
				b.t.Fatal(err)
			}
			if text != b.helpText {
				b.t.Fatalf("%s reply %q differs from the /pd help reply %q", commands[index], text, b.helpText)
			}
			if i >= latencyWarmupCalls {
				samples[index] = append(samples[index], elapsed)
			}
		}
	}
	if len(samples[0]) == 0 {
		b.t.Fatal("latency run measured no call")
	}
	pd50, pd99 := percentile(samples[0], 0.50), percentile(samples[0], 0.99)
	base50, base99 := percentile(samples[1], 0.50), percentile(samples[1], 0.99)
	n := len(samples[0])
	printFigure(fmt.Sprintf("/pd help over REST, p50 of %d", n), formatMicros(pd50), "")
	printFigure(fmt.Sprintf("/pd help over REST, p99 of %d", n), formatMicros(pd99), "")
	printFigure(fmt.Sprintf("/pdbase help (pure-Go baseline) over REST, p50 of %d", n), formatMicros(base50), "")
	printFigure(fmt.Sprintf("/pdbase help (pure-Go baseline) over REST, p99 of %d", n), formatMicros(base99), "")
	printFigure("p50 ratio /pd help / baseline", fmt.Sprintf("%.3f", float64(pd50)/float64(base50)), "at most 1.05")
	printFigure("p99 ratio /pd help / baseline", fmt.Sprintf("%.3f", float64(pd99)/float64(base99)), "")
}

// percentile returns the nearest-rank percentile of samples, which it sorts.
func percentile(samples []time.Duration, fraction float64) time.Duration {
	slices.Sort(samples)
	rank := int(float64(len(samples))*fraction+0.5) - 1
	return samples[min(max(rank, 0), len(samples)-1)]
}

func formatMicros(d time.Duration) string {
	return fmt.Sprintf("%.0f µs", float64(d)/float64(time.Microsecond))
}

func formatMillis(d time.Duration) string {
	return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond))
}

// linkUser is an account that one connect flow links.
type linkUser struct {
	id    string
	token string
}

// createLinkUsers creates count accounts named from index first on, each
// logged in. Four requests run at a time, because each creation and each
// login hashes the password with bcrypt on the server.
func (b *benchEnv) createLinkUsers(first, count int) []linkUser {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.t.Context(), userSetupDeadline)
	defer cancel()
	users := make([]linkUser, count)
	err := runBounded(ctx, count, 4, func(ctx context.Context, _, i int) error {
		username := fmt.Sprintf("linker%04d", first+i)
		created, _, err := b.admin.Client.CreateUser(ctx, &model.User{
			Username: username, Email: username + "@example.com", Password: benchPassword,
		})
		if err != nil {
			return fmt.Errorf("create user %s: %w", username, err)
		}
		client := b.mm.Client()
		if _, _, err := client.Login(ctx, username, benchPassword); err != nil {
			return fmt.Errorf("log in as %s: %w", username, err)
		}
		users[i] = linkUser{id: created.Id, token: client.AuthToken}
		return nil
	})
	if err != nil {
		b.t.Fatalf("create the link users: %v", err)
	}
	return users
}

// deactivateUsers deactivates the accounts, which keeps the server under
// the 250 active users that an unlicensed server allows (maxUsersHardLimit
// in channels/app/limits.go of the pinned server). The plugin removes the
// links of deactivated users.
func (b *benchEnv) deactivateUsers(users []linkUser) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.t.Context(), userSetupDeadline)
	defer cancel()
	err := runBounded(ctx, len(users), 4, func(ctx context.Context, _, i int) error {
		if _, err := b.admin.Client.DeleteUser(ctx, users[i].id); err != nil {
			return fmt.Errorf("deactivate user %s: %w", users[i].id, err)
		}
		return nil
	})
	if err != nil {
		b.t.Fatalf("deactivate the link users: %v", err)
	}
}

// runBounded calls work for each index in [0, count) with at most workers
// calls at a time, and returns the first error. Workers stop taking indexes
// after an error or when ctx ends.
func runBounded(ctx context.Context, count, workers int, work func(ctx context.Context, worker, i int) error) error {
	var next atomic.Int64
	var firstErr error
	var once sync.Once
	var failed atomic.Bool
	var wait sync.WaitGroup
	for worker := range workers {
		wait.Add(1)
		go func() {
			defer wait.Done()
			for !failed.Load() && ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= count {
					return
				}
				if err := work(ctx, worker, i); err != nil {
					failed.Store(true)
					once.Do(func() { firstErr = err })
				}
			}
		}()
	}
	wait.Wait()
	if firstErr == nil && ctx.Err() != nil {
		return fmt.Errorf("stopped before finishing %d items: %w", count, ctx.Err())
	}
	return firstErr
}
