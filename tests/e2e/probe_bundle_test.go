package e2e

import (
	"archive/tar"
	"compress/gzip"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// probePluginID is the id of the plugin in internal/probeplugin.
const probePluginID = "harness-probe"

// buildProbeBundle compiles internal/probeplugin and packs it with a manifest
// into a plugin bundle, a .tar.gz with the files under a folder named after
// the plugin id. It returns the bundle's path.
func buildProbeBundle(t *testing.T) string {
	t.Helper()

	workDir := t.TempDir()
	platform := runtime.GOOS + "-" + runtime.GOARCH
	executable := filepath.Join(workDir, "plugin-"+platform)

	build := exec.Command("go", "build", "-o", executable, "./internal/probeplugin")
	if output, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build probe plugin: %v\n%s", err, output)
	}

	manifest, err := json.Marshal(map[string]any{
		"id":                 probePluginID,
		"name":               "Harness probe",
		"version":            "0.0.1",
		"min_server_version": "9.5.0",
		"server": map[string]any{
			"executables": map[string]string{platform: "server/plugin-" + platform},
		},
	})
	if err != nil {
		t.Fatalf("encode probe manifest: %v", err)
	}
	binary, err := os.ReadFile(executable)
	if err != nil {
		t.Fatalf("read probe plugin binary: %v", err)
	}

	bundlePath := filepath.Join(workDir, probePluginID+".tar.gz")
	writeTarGz(t, bundlePath, []tarEntry{
		{name: probePluginID + "/plugin.json", mode: 0o644, data: manifest},
		{name: probePluginID + "/server/plugin-" + platform, mode: 0o755, data: binary},
	})
	return bundlePath
}

type tarEntry struct {
	name string
	mode int64
	data []byte
}

func writeTarGz(t *testing.T, path string, entries []tarEntry) {
	t.Helper()

	file, err := os.Create(path)
	if err != nil {
		t.Fatalf("create %s: %v", path, err)
	}
	defer file.Close()

	compressor := gzip.NewWriter(file)
	archive := tar.NewWriter(compressor)
	for _, entry := range entries {
		header := &tar.Header{Name: entry.name, Mode: entry.mode, Size: int64(len(entry.data)), Typeflag: tar.TypeReg}
		if err := archive.WriteHeader(header); err != nil {
			t.Fatalf("write %s into %s: %v", entry.name, path, err)
		}
		if _, err := archive.Write(entry.data); err != nil {
			t.Fatalf("write %s into %s: %v", entry.name, path, err)
		}
	}
	if err := archive.Close(); err != nil {
		t.Fatalf("finish %s: %v", path, err)
	}
	if err := compressor.Close(); err != nil {
		t.Fatalf("finish %s: %v", path, err)
	}
}
