package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// measureLinks runs the whole connect flow once for each of total new
// accounts, in batches of linkBatch with the plugin's resident memory read
// after each, and prints the completed links per second. Only the flows are
// timed, not creating and deactivating the accounts. Deactivation removes
// each batch's links (the plugin's UserHasBeenDeactivated hook), so the
// memory after later batches covers links created and removed since start.
func (b *benchEnv) measureLinks(total, workers int) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.t.Context(), linkDeadline)
	defer cancel()
	var elapsed, setup time.Duration
	stored := 0
	for done := 0; done < total; {
		setupStarted := time.Now()
		batch := b.createLinkUsers(done, min(linkBatch, total-done))
		setup += time.Since(setupStarted)

		started := time.Now()
		err := runBounded(ctx, len(batch), workers, func(ctx context.Context, _, i int) error {
			flow, err := newLinkFlow(b.mm.URL, simEmail(done+i))
			if err != nil {
				return err
			}
			return flow.link(ctx, batch[i].token)
		})
		elapsed += time.Since(started)
		if err != nil {
			b.t.Fatalf("connect flow failed after %d links: %v", done, err)
		}
		done += len(batch)
		b.printRSS(fmt.Sprintf("plugin RSS after %d links", done), "no growth with links")

		// Count this batch's links before deactivation, which removes them.
		for _, user := range batch {
			if _, found := b.mm.KVValue(b.t, pluginID, linkPrefix+user.id); found {
				stored++
			}
		}

		setupStarted = time.Now()
		b.deactivateUsers(batch)
		setup += time.Since(setupStarted)
	}
	fmt.Printf("setup: created, logged in and deactivated %d accounts in %s, not counted below\n", total, setup.Round(time.Millisecond))

	if stored != total {
		b.t.Errorf("%d links stored after %d connect flows, expected one per flow", stored, total)
	}
	rate := float64(total) / elapsed.Seconds()
	printFigure(fmt.Sprintf("connect flow, %d links with %d workers", total, workers),
		fmt.Sprintf("%.1f links/s (%s of flows)", rate, elapsed.Round(time.Millisecond)), "at least 100 links/s")
}

// linkFlow drives one connect flow with a plain HTTP client: the connect
// route, the simulator's sign-in and consent forms, and the callback. Each
// flow has a new cookie jar, as a new browser would, so it signs in to the
// simulator as its own PagerDuty user.
type linkFlow struct {
	mmURL  string
	email  string
	client *http.Client
}

func newLinkFlow(mmURL, email string) (*linkFlow, error) {
	jar, err := cookiejar.New(nil)
	if err != nil {
		return nil, err
	}
	return &linkFlow{
		mmURL: mmURL,
		email: email,
		client: &http.Client{
			Jar:           jar,
			Timeout:       30 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}, nil
}

// link runs one connect flow for the Mattermost session token and checks
// that the callback page reports the new link.
func (f *linkFlow) link(ctx context.Context, token string) error {
	connect := f.mmURL + "/plugins/" + pluginID + "/oauth/connect"
	status, location, _, err := f.send(ctx, http.MethodGet, connect, token, nil)
	if err != nil {
		return err
	}
	if status != http.StatusFound {
		return fmt.Errorf("connect route status %d, expected 302", status)
	}

	authorize, err := url.Parse(location)
	if err != nil {
		return fmt.Errorf("connect route redirect %q: %w", location, err)
	}
	status, _, body, err := f.send(ctx, http.MethodGet, authorize.String(), "", nil)
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return fmt.Errorf("authorize page status %d, expected 200: %s", status, body)
	}
	if !requestIDField.MatchString(body) {
		body, err = f.signIn(ctx, authorize)
		if err != nil {
			return err
		}
	}
	match := requestIDField.FindStringSubmatch(body)
	if match == nil {
		return fmt.Errorf("consent page has no request_id field: %s", body)
	}

	decision := authorize.ResolveReference(&url.URL{Path: "/oauth/authorize/decision"})
	form := url.Values{"request_id": {match[1]}, "decision": {"authorize"}}
	status, callback, body, err := f.send(ctx, http.MethodPost, decision.String(), "", form)
	if err != nil {
		return err
	}
	if status != http.StatusFound {
		return fmt.Errorf("consent decision status %d, expected 302: %s", status, body)
	}

	status, _, body, err = f.send(ctx, http.MethodGet, callback, token, nil)
	if err != nil {
		return err
	}
	if status != http.StatusOK || !strings.Contains(body, "now linked") {
		return fmt.Errorf("callback status %d, expected 200 with a linked page: %s", status, body)
	}
	return nil
}

// signIn posts the simulator's sign-in form and returns the consent page
// that the redirect back to the authorize URL shows.
func (f *linkFlow) signIn(ctx context.Context, authorize *url.URL) (string, error) {
	signIn := authorize.ResolveReference(&url.URL{Path: "/sign_in"})
	form := url.Values{"email": {f.email}, "return_to": {authorize.RequestURI()}}
	status, location, body, err := f.send(ctx, http.MethodPost, signIn.String(), "", form)
	if err != nil {
		return "", err
	}
	if status != http.StatusSeeOther {
		return "", fmt.Errorf("sign-in as %s status %d, expected 303: %s", f.email, status, body)
	}
	consent, err := authorize.Parse(location)
	if err != nil {
		return "", fmt.Errorf("sign-in redirect %q: %w", location, err)
	}
	status, _, body, err = f.send(ctx, http.MethodGet, consent.String(), "", nil)
	if err != nil {
		return "", err
	}
	if status != http.StatusOK {
		return "", fmt.Errorf("consent page status %d, expected 200: %s", status, body)
	}
	return body, nil
}

// send sends one request, with the Mattermost session token as a bearer
// token when token is set and form as a urlencoded body when form is set,
// and returns the status, the Location header and the body.
func (f *linkFlow) send(ctx context.Context, method, target, token string, form url.Values) (int, string, string, error) {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	request, err := http.NewRequestWithContext(ctx, method, target, body)
	if err != nil {
		return 0, "", "", err
	}
	if form != nil {
		request.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if token != "" {
		request.Header.Set("Authorization", "Bearer "+token)
	}
	response, err := f.client.Do(request)
	if err != nil {
		return 0, "", "", err
	}
	defer response.Body.Close()
	content, err := io.ReadAll(response.Body)
	if err != nil {
		return 0, "", "", fmt.Errorf("read %s %s: %w", method, target, err)
	}
	return response.StatusCode, response.Header.Get("Location"), string(content), nil
}

// printRSS prints the plugin process's VmRSS and VmHWM from
// /proc/<pid>/status.
func (b *benchEnv) printRSS(name, target string) {
	b.t.Helper()
	pid := b.pluginPID(pluginID)
	status := readProcStatus(b.t, pid)
	printFigure(name, fmt.Sprintf("%.1f MiB VmRSS, %.1f MiB VmHWM (pid %d)",
		float64(status["VmRSS"])/1024, float64(status["VmHWM"])/1024, pid), target)
}

// pluginPID returns the process id of the plugin's executable, which the
// server starts from plugins/<id>/ in its working directory.
func (b *benchEnv) pluginPID(id string) int {
	b.t.Helper()
	workDir, err := filepath.EvalSymlinks(b.mm.WorkDir)
	if err != nil {
		b.t.Fatal(err)
	}
	prefix := filepath.Join(workDir, "plugins", id) + string(filepath.Separator)
	entries, err := os.ReadDir("/proc")
	if err != nil {
		b.t.Fatal(err)
	}
	for _, entry := range entries {
		pid, err := strconv.Atoi(entry.Name())
		if err != nil {
			continue
		}
		executable, err := os.Readlink(filepath.Join("/proc", entry.Name(), "exe"))
		if err == nil && strings.HasPrefix(executable, prefix) {
			return pid
		}
	}
	b.t.Fatalf("no process runs an executable under %s", prefix)
	return 0
}

// readProcStatus returns the kB fields of /proc/<pid>/status, such as VmRSS.
func readProcStatus(t *testing.T, pid int) map[string]int64 {
	t.Helper()
	file, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	fields := map[string]int64{}
	scanner := bufio.NewScanner(file)
	for scanner.Scan() {
		name, value, found := strings.Cut(scanner.Text(), ":")
		value = strings.TrimSpace(value)
		if !found || !strings.HasSuffix(value, " kB") {
			continue
		}
		kilobytes, err := strconv.ParseInt(strings.TrimSuffix(value, " kB"), 10, 64)
		if err == nil {
			fields[name] = kilobytes
		}
	}
	if err := scanner.Err(); err != nil {
		t.Fatal(err)
	}
	return fields
}

// buildBaselineBundle compiles internal/baselineplugin and packs it with a
// manifest into a plugin bundle, and returns the bundle's path.
func buildBaselineBundle(t *testing.T) string {
	t.Helper()
	workDir := t.TempDir()
	platform := runtime.GOOS + "-" + runtime.GOARCH
	executable := filepath.Join(workDir, "plugin-"+platform)
	build := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", executable, "./internal/baselineplugin")
	if output, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build baseline plugin: %v\n%s", err, output)
	}

	manifest, err := json.Marshal(map[string]any{
		"id":                 baselinePluginID,
		"name":               "PagerDuty benchmark baseline",
		"version":            "0.0.1",
		"min_server_version": "9.5.0",
		"server": map[string]any{
			"executables": map[string]string{platform: "server/plugin-" + platform},
		},
	})
	if err != nil {
		t.Fatalf("encode baseline manifest: %v", err)
	}
	binary, err := os.ReadFile(executable)
	if err != nil {
		t.Fatalf("read baseline plugin binary: %v", err)
	}
	bundlePath := filepath.Join(workDir, baselinePluginID+".tar.gz")
	writeTarGz(t, bundlePath, []tarEntry{
		{name: baselinePluginID + "/plugin.json", mode: 0o644, data: manifest},
		{name: baselinePluginID + "/server/plugin-" + platform, mode: 0o755, data: binary},
	})
	return bundlePath
}
