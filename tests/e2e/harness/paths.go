// Package harness starts the real components of the end-to-end tests (a
// throwaway PostgreSQL cluster, a Mattermost server built from the pinned
// module, headless Chromium) and drives them the way clients do.
//
// Every function that takes a testing.TB fails the test on error and stops
// what it started in t.Cleanup. Run tests/scripts/setup.sh once first: it
// installs Chromium and PostgreSQL and builds the server binary.
package harness

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"testing"

	"golang.org/x/mod/modfile"
)

const (
	// e2eModulePath is the module that pins the Mattermost server version.
	e2eModulePath = "github.com/pd-mattermost/mattermost-plugin-pagerduty/tests/e2e"

	// serverModulePath is the module whose cmd/mattermost setup.sh builds.
	serverModulePath = "github.com/mattermost/mattermost/server/v8"
)

var (
	moduleRootOnce sync.Once
	moduleRoot     string
	moduleRootErr  error

	artifactDirsMu sync.Mutex
	artifactDirs   = map[string]string{}
)

// ModuleRoot returns the directory of the tests/e2e module, found by walking
// up from the working directory, which `go test` sets to the package folder.
func ModuleRoot(t testing.TB) string {
	t.Helper()

	moduleRootOnce.Do(func() {
		moduleRoot, moduleRootErr = findModuleRoot()
	})
	if moduleRootErr != nil {
		t.Fatalf("find the tests/e2e module: %v", moduleRootErr)
	}
	return moduleRoot
}

func findModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}

	for {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && modfile.ModulePath(data) == e2eModulePath {
			return dir, nil
		}

		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod of module %s above the working directory", e2eModulePath)
		}
		dir = parent
	}
}

// ArtifactsDir returns tests/e2e/artifacts/<test name>/, where server logs and
// screenshots of the test go. The first call in a test empties the folder, so
// it only holds files of the latest run.
func ArtifactsDir(t testing.TB) string {
	t.Helper()

	artifactDirsMu.Lock()
	defer artifactDirsMu.Unlock()

	if dir, ok := artifactDirs[t.Name()]; ok {
		return dir
	}

	dir := filepath.Join(ModuleRoot(t), "artifacts", sanitizeFileName(t.Name()))
	if err := os.RemoveAll(dir); err != nil {
		t.Fatalf("clear artifacts folder: %v", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("create artifacts folder: %v", err)
	}
	artifactDirs[t.Name()] = dir
	return dir
}

var unsafeFileNameChars = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

func sanitizeFileName(name string) string {
	return unsafeFileNameChars.ReplaceAllString(name, "_")
}

// ServerDir returns the folder that tests/scripts/setup.sh fills with the
// server binary (bin/mattermost) and its i18n/, templates/ and fonts/ assets.
// PD_MATTERMOST_DIR overrides it. Otherwise it is
// ${PD_CACHE_DIR:-$HOME/.cache/mattermost-pagerduty}/mattermost-<version>,
// with the server/v8 version that tests/e2e/go.mod requires.
func ServerDir(t testing.TB) string {
	t.Helper()

	if dir := os.Getenv("PD_MATTERMOST_DIR"); dir != "" {
		return dir
	}

	cacheRoot := os.Getenv("PD_CACHE_DIR")
	if cacheRoot == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			t.Fatalf("locate the server cache: %v (set PD_CACHE_DIR)", err)
		}
		cacheRoot = filepath.Join(home, ".cache", "mattermost-pagerduty")
	}

	version := pinnedServerVersion(t)
	return filepath.Join(cacheRoot, "mattermost-"+version)
}

func pinnedServerVersion(t testing.TB) string {
	t.Helper()

	path := filepath.Join(ModuleRoot(t), "go.mod")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	file, err := modfile.ParseLax(path, data, nil)
	if err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}

	for _, require := range file.Require {
		if require.Mod.Path == serverModulePath {
			return require.Mod.Version
		}
	}
	t.Fatalf("%s does not require %s", path, serverModulePath)
	return ""
}
