// Command pdsim runs the PagerDuty simulator on a loopback address with one
// OAuth app and one built-in user, for tests that cannot import the Go package.
//
// It prints "pdsim listening on http://ADDR" to stdout once it accepts
// connections, logs one line per request to stderr (never a token, code or
// query string) and exits on SIGINT or SIGTERM.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/pd-mattermost/mattermost-plugin-pagerduty/tests/pdsim"
)

// defaultUser is the user who can sign in. Tests add more with POST /_sim/users.
var defaultUser = pdsim.User{
	ID:        "PABC123",
	Name:      "Ada Lovelace",
	Email:     "ada@example.com",
	Subdomain: "acme",
	AccountID: "PACME01",
	Region:    "us",
	TimeZone:  "Europe/London",
	Role:      "admin",
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "pdsim:", err)
		os.Exit(1)
	}
}

// redirectURIFlag collects -redirect-uri values, which may repeat or hold
// several comma-separated URIs.
type redirectURIFlag []string

func (f *redirectURIFlag) String() string { return strings.Join(*f, ",") }

func (f *redirectURIFlag) Set(value string) error {
	for _, uri := range strings.Split(value, ",") {
		if uri = strings.TrimSpace(uri); uri != "" {
			*f = append(*f, uri)
		}
	}
	return nil
}

// run parses args, serves until ctx is done and then closes the server.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	flags := flag.NewFlagSet("pdsim", flag.ContinueOnError)
	flags.SetOutput(stderr)
	addr := flags.String("addr", "127.0.0.2:0", "loopback address to listen on (port 0 picks a free port)")
	clientID := flags.String("client-id", "pdsim-client-id", "OAuth client id of the simulated app")
	clientSecret := flags.String("client-secret", "pdsim-client-secret", "OAuth client secret of the simulated app")
	var redirectURIs redirectURIFlag
	flags.Var(&redirectURIs, "redirect-uri", "registered redirect URI of the app (required, repeatable or comma-separated)")
	scoped := flags.Bool("scoped", false, "simulate a scoped OAuth app (granular scopes, PKCE required, 1-day access tokens) instead of a classic one")
	accessTTL := flags.Duration("access-token-ttl", 0, "access token lifetime, such as 90s or 2h (0 means PagerDuty's default for the app kind)")
	refreshTTL := flags.Duration("refresh-token-ttl", 0, "refresh token lifetime (0 means PagerDuty's default for the app kind)")
	codeTTL := flags.Duration("code-ttl", 0, "authorization code lifetime (0 means 30s)")
	rateLimit := flags.Int("rate-limit", 0, "REST API requests allowed per minute per app per user (0 means 960)")
	if err := flags.Parse(args); err != nil {
		return err
	}
	if flags.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q (pdsim takes only flags)", flags.Args())
	}
	if len(redirectURIs) == 0 {
		return errors.New("missing -redirect-uri (pass the plugin's OAuth callback URL)")
	}

	logger := slog.New(slog.NewTextHandler(stderr, nil))
	app := pdsim.App{
		ClientID:     *clientID,
		ClientSecret: *clientSecret,
		RedirectURIs: redirectURIs,
		Scoped:       *scoped,
	}
	if err := app.Validate(); err != nil {
		return err
	}
	srv := pdsim.New(pdsim.Options{
		Apps:            []pdsim.App{app},
		Users:           []pdsim.User{defaultUser},
		AccessTokenTTL:  *accessTTL,
		RefreshTokenTTL: *refreshTTL,
		CodeTTL:         *codeTTL,
		RateLimit:       *rateLimit,
		Logger:          logger,
	})

	baseURL, err := srv.Start(*addr)
	if err != nil {
		return err
	}
	logger.Info("pdsim started", "base_url", baseURL, "client_id", app.ClientID, "scoped", app.Scoped, "user_email", defaultUser.Email)
	fmt.Fprintf(stdout, "pdsim listening on %s\n", baseURL)

	<-ctx.Done()
	logger.Info("pdsim stopping", "base_url", baseURL)
	if err := srv.Close(); err != nil {
		return fmt.Errorf("close the server: %w", err)
	}
	return nil
}
