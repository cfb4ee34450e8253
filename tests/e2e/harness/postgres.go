package harness

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"syscall"
	"testing"
	"time"

	// Registers the "postgres" driver, the one the Mattermost server uses.
	_ "github.com/lib/pq"
)

const (
	postgresSuperuser = "postgres"
	mattermostDBName  = "mattermost"
	mattermostDBUser  = "mmuser"

	// The cluster listens only on 127.0.0.1 and lives for one test, so
	// fixed passwords protect nothing worth a secret.
	postgresSuperuserPassword = "pd-e2e-superuser"
	mattermostDBPassword      = "pd-e2e-mmuser"

	postgresStartTimeout = 60 * time.Second
	postgresStopTimeout  = 30 * time.Second
)

// Postgres is a throwaway PostgreSQL cluster that listens on 127.0.0.1.
type Postgres struct {
	// Port is the TCP port on 127.0.0.1.
	Port int
	// DataDir is the cluster's data directory, owned by the postgres user
	// when the tests run as root.
	DataDir string
	// DataSource is the URL for the Mattermost server: database mattermost,
	// owned by the role mmuser.
	DataSource string

	// db is a superuser connection to the mattermost database.
	db      *sql.DB
	process *childProcess
}

// StartPostgres initializes a cluster in a new temporary folder, starts it on
// a free port of 127.0.0.1 and creates the mattermost database with its owner
// mmuser. Cleanup stops the cluster and removes the folder.
//
// PostgreSQL rejects running as root. When the tests run as root, the
// cluster runs as the postgres user that Debian's package creates, and
// otherwise as the current user.
func StartPostgres(t testing.TB) *Postgres {
	t.Helper()

	binDir := postgresBinDir(t)
	credential := postgresCredential(t)

	// t.TempDir() is not reachable by another user, so create the folder in
	// the shared temporary directory and hand it to the postgres user.
	rootDir, err := os.MkdirTemp("", "pd-e2e-postgres-")
	if err != nil {
		t.Fatalf("create PostgreSQL folder: %v", err)
	}
	t.Cleanup(func() {
		if err := os.RemoveAll(rootDir); err != nil {
			t.Errorf("remove PostgreSQL folder %s: %v", rootDir, err)
		}
	})
	if credential != nil {
		if err := os.Chown(rootDir, int(credential.Uid), int(credential.Gid)); err != nil {
			t.Fatalf("hand %s to the postgres user: %v", rootDir, err)
		}
	}

	pg := &Postgres{
		Port:    FreePort(t),
		DataDir: filepath.Join(rootDir, "data"),
	}
	logPath := filepath.Join(ArtifactsDir(t), "postgres.log")

	initPostgresCluster(t, binDir, credential, rootDir, pg.DataDir, logPath)
	pg.start(t, binDir, credential, logPath)
	pg.createMattermostDatabase(t)
	return pg
}

// postgresBinDir returns the newest /usr/lib/postgresql/<major>/bin, where
// Debian installs the server binaries.
func postgresBinDir(t testing.TB) string {
	t.Helper()

	candidates, _ := filepath.Glob("/usr/lib/postgresql/*/bin/postgres")
	if len(candidates) == 0 {
		t.Fatal("PostgreSQL is not installed: no /usr/lib/postgresql/*/bin/postgres; run tests/scripts/setup.sh")
	}

	sort.Slice(candidates, func(i, j int) bool {
		return postgresMajor(candidates[i]) < postgresMajor(candidates[j])
	})
	return filepath.Dir(candidates[len(candidates)-1])
}

func postgresMajor(binaryPath string) int {
	major, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(binaryPath))))
	return major
}

// postgresCredential returns the postgres user's ids when running as root,
// and nil otherwise.
func postgresCredential(t testing.TB) *syscall.Credential {
	t.Helper()

	if os.Geteuid() != 0 {
		return nil
	}

	account, err := user.Lookup("postgres")
	if err != nil {
		t.Fatalf("PostgreSQL cannot run as root and the postgres user is missing: %v", err)
	}
	uid, _ := strconv.ParseUint(account.Uid, 10, 32)
	gid, _ := strconv.ParseUint(account.Gid, 10, 32)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
}

func postgresCommand(binDir, program string, credential *syscall.Credential, workDir string, args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(binDir, program), args...)
	cmd.Dir = workDir
	cmd.Env = []string{"PATH=/usr/bin:/bin", "LC_ALL=C.UTF-8", "HOME=" + workDir}
	if credential != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: credential}
	}
	return cmd
}

func initPostgresCluster(t testing.TB, binDir string, credential *syscall.Credential, rootDir, dataDir, logPath string) {
	t.Helper()

	passwordFile := filepath.Join(rootDir, "superuser-password")
	if err := os.WriteFile(passwordFile, []byte(postgresSuperuserPassword+"\n"), 0o600); err != nil {
		t.Fatalf("write PostgreSQL password file: %v", err)
	}
	if credential != nil {
		if err := os.Chown(passwordFile, int(credential.Uid), int(credential.Gid)); err != nil {
			t.Fatalf("hand the password file to the postgres user: %v", err)
		}
	}

	cmd := postgresCommand(binDir, "initdb", credential, rootDir,
		"--pgdata", dataDir,
		"--username", postgresSuperuser,
		"--pwfile", passwordFile,
		"--auth", "scram-sha-256",
		"--encoding", "UTF8",
		"--locale", "C",
		"--no-sync",
	)
	output, err := cmd.CombinedOutput()
	_ = os.WriteFile(filepath.Join(filepath.Dir(logPath), "initdb.log"), output, 0o644)
	if err != nil {
		t.Fatalf("initdb failed: %v\n%s", err, output)
	}
}

func (pg *Postgres) start(t testing.TB, binDir string, credential *syscall.Credential, logPath string) {
	t.Helper()

	// Durability settings are off because the cluster is thrown away. This
	// makes the server's schema migrations much faster.
	cmd := postgresCommand(binDir, "postgres", credential, filepath.Dir(pg.DataDir),
		"-D", pg.DataDir,
		"-c", "listen_addresses=127.0.0.1",
		"-c", "port="+strconv.Itoa(pg.Port),
		"-c", "unix_socket_directories=",
		"-c", "fsync=off",
		"-c", "synchronous_commit=off",
		"-c", "full_page_writes=off",
		"-c", "max_connections=200",
	)
	process, err := startChild("PostgreSQL", cmd, logPath)
	if err != nil {
		t.Fatalf("start PostgreSQL: %v", err)
	}
	pg.process = process

	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("end of %s:\n%s", logPath, logTail(logPath, 30))
		}
		if pg.db != nil {
			pg.db.Close()
		}
		// SIGINT requests a fast shutdown, which ends open sessions
		// instead of waiting for them.
		if err := process.stop(syscall.SIGINT, postgresStopTimeout); err != nil {
			t.Errorf("stop PostgreSQL: %v", err)
		}
	})

	adminDB, err := sql.Open("postgres", pg.url(postgresSuperuser, postgresSuperuserPassword, "postgres"))
	if err != nil {
		t.Fatalf("open PostgreSQL connection: %v", err)
	}
	defer adminDB.Close()

	deadline := time.Now().Add(postgresStartTimeout)
	for {
		if exited, waitErr := process.hasExited(); exited {
			t.Fatalf("PostgreSQL exited during startup (%v); end of %s:\n%s", waitErr, logPath, logTail(logPath, 30))
		}

		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		err = adminDB.PingContext(ctx)
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("PostgreSQL did not accept connections within %s: %v; end of %s:\n%s", postgresStartTimeout, err, logPath, logTail(logPath, 30))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (pg *Postgres) createMattermostDatabase(t testing.TB) {
	t.Helper()

	adminDB, err := sql.Open("postgres", pg.url(postgresSuperuser, postgresSuperuserPassword, "postgres"))
	if err != nil {
		t.Fatalf("open PostgreSQL connection: %v", err)
	}
	defer adminDB.Close()

	if _, err := adminDB.Exec(fmt.Sprintf("CREATE ROLE %s LOGIN PASSWORD '%s'", mattermostDBUser, mattermostDBPassword)); err != nil {
		t.Fatalf("create role %s: %v", mattermostDBUser, err)
	}
	if _, err := adminDB.Exec(fmt.Sprintf("CREATE DATABASE %s OWNER %s", mattermostDBName, mattermostDBUser)); err != nil {
		t.Fatalf("create database %s: %v", mattermostDBName, err)
	}

	pg.DataSource = pg.url(mattermostDBUser, mattermostDBPassword, mattermostDBName)
	pg.db, err = sql.Open("postgres", pg.url(postgresSuperuser, postgresSuperuserPassword, mattermostDBName))
	if err != nil {
		t.Fatalf("open connection to the mattermost database: %v", err)
	}
}

// DB returns a superuser connection pool to the mattermost database, for
// checking what the server stored.
func (pg *Postgres) DB() *sql.DB {
	return pg.db
}

func (pg *Postgres) url(username, password, database string) string {
	u := url.URL{
		Scheme:   "postgres",
		User:     url.UserPassword(username, password),
		Host:     "127.0.0.1:" + strconv.Itoa(pg.Port),
		Path:     "/" + database,
		RawQuery: "sslmode=disable&connect_timeout=10",
	}
	return u.String()
}
