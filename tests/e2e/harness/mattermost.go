package harness

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/model"
)

const (
	// mattermostStartTimeout bounds a start, which on a new database
	// includes the server's schema migrations.
	mattermostStartTimeout = 3 * time.Minute
	mattermostStopTimeout  = 30 * time.Second

	// maxUploadBytes is the request size limit for plugin bundle uploads.
	maxUploadBytes = 512 << 20
)

// MattermostOptions configures StartMattermost.
type MattermostOptions struct {
	// Postgres is the database to use. When nil, StartMattermost starts a
	// new cluster with StartPostgres.
	Postgres *Postgres
	// Env adds environment variables or overrides the harness defaults, for
	// example "MM_SERVICESETTINGS_ENABLELOCALMODE": "true". Each MM_* variable
	// sets the config field of the same path, like ServiceSettings.EnableLocalMode.
	Env map[string]string
}

// Mattermost is a Mattermost server process that listens on 127.0.0.1.
type Mattermost struct {
	// URL is the site URL, http://127.0.0.1:<Port>, without a trailing slash.
	URL  string
	Port int
	// Postgres is the server's database.
	Postgres *Postgres
	// WorkDir is the server's working directory. It contains config/,
	// data/, plugins/ and client/ and lives as long as the test.
	WorkDir string
	// LogPath is the file that receives the server's stdout and stderr.
	LogPath string
	// Admin is the system admin that CreateAdmin made, nil before.
	Admin *User

	binary  string
	env     []string
	process *childProcess
}

// StartMattermost starts the server binary that tests/scripts/setup.sh built
// and waits until GET /api/v4/system/ping succeeds. Cleanup stops it, and
// prints the end of its log when the test failed.
//
// MM_* environment variables configure the server. It listens only on
// 127.0.0.1 and accepts unsigned plugin uploads. Every feature that contacts
// other hosts is off: telemetry, Sentry, marketplace, notices, security
// update checks, link previews, image proxy, email and push notifications.
func StartMattermost(t testing.TB, opts MattermostOptions) *Mattermost {
	t.Helper()

	serverDir := ServerDir(t)
	binary := filepath.Join(serverDir, "bin", "mattermost")
	if _, err := os.Stat(binary); err != nil {
		t.Fatalf("Mattermost server binary missing: %v; run tests/scripts/setup.sh", err)
	}

	pg := opts.Postgres
	if pg == nil {
		pg = StartPostgres(t)
	}

	workDir := prepareWorkDir(t, serverDir)
	port := FreePort(t)
	mm := &Mattermost{
		URL:      "http://127.0.0.1:" + strconv.Itoa(port),
		Port:     port,
		Postgres: pg,
		WorkDir:  workDir,
		LogPath:  filepath.Join(ArtifactsDir(t), "mattermost.log"),
		binary:   binary,
	}
	mm.env = mattermostEnv(mm, opts.Env)

	t.Cleanup(func() {
		// The tail comes before the stop, whose own log lines would hide
		// what led to the failure.
		if t.Failed() {
			t.Logf("end of %s:\n%s", mm.LogPath, logTail(mm.LogPath, 40))
		}
		mm.Stop(t)
	})
	mm.start(t)
	return mm
}

// prepareWorkDir creates a working directory that links the server's assets.
// The server finds i18n/, templates/ and fonts/ in its working directory, and
// it writes plugin web bundles under client/, so client/ is a real folder.
//
// NOTE: client/ holds no web app, because the server module ships none. The
// browser can open API and plugin routes but not the Mattermost UI, and the
// server logs an error about the missing client/root.html at each start.
func prepareWorkDir(t testing.TB, serverDir string) string {
	t.Helper()

	workDir := t.TempDir()
	for _, asset := range []string{"i18n", "templates", "fonts"} {
		target := filepath.Join(serverDir, asset)
		if _, err := os.Stat(target); err != nil {
			t.Fatalf("server asset folder missing: %v; run tests/scripts/setup.sh", err)
		}
		if err := os.Symlink(target, filepath.Join(workDir, asset)); err != nil {
			t.Fatalf("link server assets: %v", err)
		}
	}
	for _, dir := range []string{"client", "config"} {
		if err := os.Mkdir(filepath.Join(workDir, dir), 0o755); err != nil {
			t.Fatalf("create server folder: %v", err)
		}
	}
	return workDir
}

// mattermostEnv returns the server's environment: the harness defaults with
// overrides applied, sorted so that Environment lists them in a stable order.
func mattermostEnv(mm *Mattermost, overrides map[string]string) []string {
	settings := map[string]string{
		"MM_SQLSETTINGS_DRIVERNAME": "postgres",
		"MM_SQLSETTINGS_DATASOURCE": mm.Postgres.DataSource,

		"MM_SERVICESETTINGS_SITEURL":                 mm.URL,
		"MM_SERVICESETTINGS_LISTENADDRESS":           "127.0.0.1:" + strconv.Itoa(mm.Port),
		"MM_SERVICESETTINGS_ENABLELOCALMODE":         "false",
		"MM_SERVICESETTINGS_ENABLEDEVELOPER":         "false",
		"MM_SERVICESETTINGS_ENABLETESTING":           "false",
		"MM_SERVICESETTINGS_ENABLECOMMANDS":          "true",
		"MM_SERVICESETTINGS_ENABLETUTORIAL":          "false",
		"MM_SERVICESETTINGS_ENABLEONBOARDINGFLOW":    "false",
		"MM_RATELIMITSETTINGS_ENABLE":                "false",
		"MM_SERVICESETTINGS_MAXIMUMPAYLOADSIZEBYTES": strconv.Itoa(maxUploadBytes),
		"MM_FILESETTINGS_MAXFILESIZE":                strconv.Itoa(maxUploadBytes),

		// The job server is off: no test needs its jobs, and its watcher
		// delays a shutdown that comes soon after a start by up to 15
		// seconds (DefaultWatcherPollingInterval in channels/jobs).
		"MM_JOBSETTINGS_RUNJOBS":      "false",
		"MM_JOBSETTINGS_RUNSCHEDULER": "false",

		"MM_PLUGINSETTINGS_ENABLE":                      "true",
		"MM_PLUGINSETTINGS_ENABLEUPLOADS":               "true",
		"MM_PLUGINSETTINGS_REQUIREPLUGINSIGNATURE":      "false",
		"MM_PLUGINSETTINGS_ENABLEHEALTHCHECK":           "true",
		"MM_PLUGINSETTINGS_ENABLEMARKETPLACE":           "false",
		"MM_PLUGINSETTINGS_ENABLEREMOTEMARKETPLACE":     "false",
		"MM_PLUGINSETTINGS_AUTOMATICPREPACKAGEDPLUGINS": "false",

		// Features that contact other hosts are off. The URLs point at the
		// discard port of the loopback address, so a check that its flag
		// does not switch off fails locally instead of reaching another host.
		"MM_LOGSETTINGS_ENABLEDIAGNOSTICS":            "false",
		"MM_LOGSETTINGS_ENABLESENTRY":                 "false",
		"MM_SERVICESETTINGS_ENABLESECURITYFIXALERT":   "false",
		"MM_SERVICESETTINGS_ENABLELINKPREVIEWS":       "false",
		"MM_SERVICESETTINGS_ENABLEPERMALINKPREVIEWS":  "false",
		"MM_SERVICESETTINGS_ENABLEGIFPICKER":          "false",
		"MM_SERVICESETTINGS_ENABLEAWSMETERING":        "false",
		"MM_SERVICESETTINGS_SPLITKEY":                 "",
		"MM_SERVICESETTINGS_GOOGLEDEVELOPERKEY":       "",
		"MM_IMAGEPROXYSETTINGS_ENABLE":                "false",
		"MM_ANNOUNCEMENTSETTINGS_ADMINNOTICESENABLED": "false",
		"MM_ANNOUNCEMENTSETTINGS_USERNOTICESENABLED":  "false",
		"MM_ANNOUNCEMENTSETTINGS_NOTICESURL":          "http://127.0.0.1:9/",
		"MM_PLUGINSETTINGS_MARKETPLACEURL":            "http://127.0.0.1:9/",
		"MM_PLUGINSETTINGS_CHIMERAOAUTHPROXYURL":      "",
		"MM_CLOUDSETTINGS_CWSURL":                     "http://127.0.0.1:9/",
		"MM_CLOUDSETTINGS_CWSAPIURL":                  "http://127.0.0.1:9/",
		"MM_EMAILSETTINGS_SENDEMAILNOTIFICATIONS":     "false",
		"MM_EMAILSETTINGS_REQUIREEMAILVERIFICATION":   "false",
		"MM_EMAILSETTINGS_ENABLEEMAILBATCHING":        "false",
		"MM_EMAILSETTINGS_SMTPSERVER":                 "127.0.0.1",
		"MM_EMAILSETTINGS_SMTPPORT":                   "9",
		"MM_EMAILSETTINGS_SENDPUSHNOTIFICATIONS":      "false",
		"MM_EMAILSETTINGS_PUSHNOTIFICATIONSERVER":     "",
		"MM_METRICSSETTINGS_ENABLE":                   "false",
		"MM_ELASTICSEARCHSETTINGS_ENABLEINDEXING":     "false",
		"MM_ELASTICSEARCHSETTINGS_ENABLESEARCHING":    "false",

		// Logs go to the console, which StartMattermost writes to LogPath,
		// at debug level so that plugin debug logs show up there too.
		"MM_LOGSETTINGS_ENABLECONSOLE": "true",
		"MM_LOGSETTINGS_CONSOLELEVEL":  "DEBUG",
		"MM_LOGSETTINGS_CONSOLEJSON":   "true",
		"MM_LOGSETTINGS_ENABLEFILE":    "false",
	}
	for name, value := range overrides {
		settings[name] = value
	}

	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + mm.WorkDir,
		"TMPDIR=" + os.TempDir(),
	}
	for name, value := range settings {
		env = append(env, name+"="+value)
	}
	sort.Strings(env)
	return env
}

func (mm *Mattermost) start(t testing.TB) {
	t.Helper()

	configPath := filepath.Join(mm.WorkDir, "config", "config.json")
	logFile, err := os.OpenFile(mm.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatalf("open server log: %v", err)
	}
	fmt.Fprintf(logFile, "=== harness: starting %s --config %s at %s\n", mm.binary, configPath, time.Now().Format(time.RFC3339))
	logFile.Close()

	cmd := exec.Command(mm.binary, "server", "--config", configPath)
	cmd.Dir = mm.WorkDir
	cmd.Env = mm.env
	process, err := startChild("Mattermost", cmd, mm.LogPath)
	if err != nil {
		t.Fatalf("start Mattermost: %v", err)
	}
	mm.process = process

	mm.waitForPing(t)
}

func (mm *Mattermost) waitForPing(t testing.TB) {
	t.Helper()

	client := &http.Client{Timeout: 2 * time.Second}
	pingURL := mm.URL + "/api/v4/system/ping"
	deadline := time.Now().Add(mattermostStartTimeout)
	for {
		if exited, waitErr := mm.process.hasExited(); exited {
			t.Fatalf("Mattermost exited during startup (%v); end of %s:\n%s", waitErr, mm.LogPath, logTail(mm.LogPath, 40))
		}

		response, err := client.Get(pingURL)
		if err == nil {
			response.Body.Close()
			if response.StatusCode == http.StatusOK {
				return
			}
			err = fmt.Errorf("status %s", response.Status)
		}

		if time.Now().After(deadline) {
			t.Fatalf("GET %s did not succeed within %s: %v; end of %s:\n%s", pingURL, mattermostStartTimeout, err, mm.LogPath, logTail(mm.LogPath, 40))
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// Stop stops the server with SIGTERM and kills it, with its plugin
// processes, if it has not exited after 30 seconds. Stopping a stopped
// server does nothing.
func (mm *Mattermost) Stop(t testing.TB) {
	t.Helper()

	if mm.process == nil {
		return
	}
	if err := mm.process.stop(syscall.SIGTERM, mattermostStopTimeout); err != nil {
		t.Errorf("stop Mattermost: %v", err)
	}
	mm.process = nil
}

// Restart stops the server and starts it again with the same database,
// working directory, port and configuration, then waits for the ping.
// Sessions survive because they are stored in the database, but websocket
// listeners do not: open new ones after the restart.
func (mm *Mattermost) Restart(t testing.TB) {
	t.Helper()

	mm.Stop(t)
	mm.start(t)
}

// Environment returns a copy of the server's environment, NAME=value per
// entry, with the MM_* variables that configure it.
func (mm *Mattermost) Environment() []string {
	return append([]string(nil), mm.env...)
}

// Client returns a client without a session, for requests that need none.
func (mm *Mattermost) Client() *model.Client4 {
	return model.NewAPIv4Client(mm.URL)
}

// testContext returns a context for one API request of a test.
func testContext() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), time.Minute)
}
