package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a strings.Builder that the server's log goroutines and the
// test can use at the same time.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestRunServesUntilCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stdoutReader, stdoutWriter := io.Pipe()
	var stderr syncBuffer
	done := make(chan error, 1)
	args := []string{"-client-id", "cid", "-client-secret", "csecret", "-redirect-uri", "http://127.0.0.1:8065/a,http://127.0.0.1:8065/b"}
	go func() {
		done <- run(ctx, args, stdoutWriter, &stderr)
		stdoutWriter.Close()
	}()

	line, err := bufio.NewReader(stdoutReader).ReadString('\n')
	if err != nil {
		t.Fatalf("read stdout: %v; stderr:\n%s", err, stderr.String())
	}
	m := regexp.MustCompile(`^pdsim listening on (http://127\.0\.0\.2:\d+)\n$`).FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("stdout line = %q, want \"pdsim listening on http://127.0.0.2:PORT\"", line)
	}

	resp, err := http.Get(m[1] + "/oauth/authorize?client_id=cid&redirect_uri=http%3A%2F%2F127.0.0.1%3A8065%2Fb&response_type=code&scope=read&state=secret-state")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("authorize with the second redirect URI: status = %d, want 200", resp.StatusCode)
	}
	resp, err = http.Get(m[1] + "/_sim/stats")
	if err != nil {
		t.Fatal(err)
	}
	var stats map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&stats); err != nil {
		t.Errorf("stats are not JSON: %v", err)
	}
	resp.Body.Close()

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("run returned %v, want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("run did not return after the context was canceled")
	}
	logs := stderr.String()
	if !strings.Contains(logs, "path=/oauth/authorize") {
		t.Errorf("stderr does not log the authorize request:\n%s", logs)
	}
	if strings.Contains(logs, "secret-state") {
		t.Errorf("stderr contains a query value:\n%s", logs)
	}
}

func TestRunRequiresRedirectURI(t *testing.T) {
	var stderr syncBuffer
	err := run(context.Background(), nil, io.Discard, &stderr)

	if err == nil || !strings.Contains(err.Error(), "-redirect-uri") {
		t.Errorf("run without -redirect-uri returned %v, want an error naming the flag", err)
	}
}

func TestRunRejectsInvalidRedirectURI(t *testing.T) {
	var stderr syncBuffer
	err := run(context.Background(), []string{"-redirect-uri", "/relative"}, io.Discard, &stderr)

	if err == nil || !strings.Contains(err.Error(), "absolute URL") {
		t.Errorf("run with a relative redirect URI returned %v, want an error", err)
	}
}

func TestRunRejectsNonLoopbackAddr(t *testing.T) {
	var stderr syncBuffer
	err := run(context.Background(), []string{"-addr", "0.0.0.0:0", "-redirect-uri", "http://127.0.0.1/cb"}, io.Discard, &stderr)

	if err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Errorf("run with -addr 0.0.0.0:0 returned %v, want a loopback error", err)
	}
}
