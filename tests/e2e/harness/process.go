package harness

import (
	"bytes"
	"errors"
	"net"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago. Another
// process may take it before the caller binds it, which is unlikely on a test
// machine.
func FreePort(t testing.TB) int {
	t.Helper()

	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("find a free port on 127.0.0.1: %v", err)
	}
	defer listener.Close()
	return listener.Addr().(*net.TCPAddr).Port
}

// childProcess is a server process that runs in its own process group, so
// that stopping it also reaches the processes it started (Mattermost plugins).
type childProcess struct {
	name    string
	cmd     *exec.Cmd
	logFile *os.File
	exited  chan struct{}
	waitErr error
}

// startChild starts cmd with stdout and stderr appended to logPath.
func startChild(name string, cmd *exec.Cmd, logPath string) (*childProcess, error) {
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}

	cmd.Stdout = logFile
	cmd.Stderr = logFile
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	// Ends the child if the test binary dies without running its cleanups.
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL

	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, err
	}

	child := &childProcess{name: name, cmd: cmd, logFile: logFile, exited: make(chan struct{})}
	go func() {
		child.waitErr = cmd.Wait()
		close(child.exited)
	}()
	return child, nil
}

// hasExited reports whether the process ended, with its exit error.
func (c *childProcess) hasExited() (bool, error) {
	select {
	case <-c.exited:
		return true, c.waitErr
	default:
		return false, nil
	}
}

// stop sends signal to the process and, if it is still running after grace,
// kills its whole process group. It returns an error when the process had to
// be killed.
func (c *childProcess) stop(signal syscall.Signal, grace time.Duration) error {
	defer c.logFile.Close()

	pid := c.cmd.Process.Pid
	if exited, _ := c.hasExited(); !exited {
		_ = syscall.Kill(pid, signal)
	}

	var stopErr error
	select {
	case <-c.exited:
	case <-time.After(grace):
		stopErr = errors.New(c.name + " did not stop within " + grace.String() + " of " + signal.String() + "; killed it")
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		<-c.exited
	}

	// Plugin processes of a server that exited on its own may still run.
	_ = syscall.Kill(-pid, syscall.SIGKILL)
	return stopErr
}

// logTail returns up to the last maxLines lines of the file at path.
func logTail(path string, maxLines int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return "(cannot read " + path + ": " + err.Error() + ")"
	}

	data = bytes.TrimRight(data, "\n")
	lines := bytes.Split(data, []byte("\n"))
	if len(lines) > maxLines {
		lines = lines[len(lines)-maxLines:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}
