package harness

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/mattermost/mattermost/server/public/model"
)

const (
	chromiumPath = "/usr/bin/chromium"

	// browserActionTimeout limits each Browser method, including the waits
	// of the query actions for their element.
	browserActionTimeout = 30 * time.Second
)

// Browser is a headless Chromium tab with a fresh profile. Its methods fail
// the test on error. When the test fails, cleanup saves a screenshot of the
// tab as failure.png in the test's artifacts folder.
type Browser struct {
	t   testing.TB
	ctx context.Context
}

// NewBrowser starts Debian's Chromium in headless mode, without the sandbox
// because the tests run as root, and with its own background traffic off:
// component updates, sync, QUIC and the background networking of Chrome
// services. Host resolver rules make every host fail to resolve except
// localhost and 127.*, so the browser reaches only loopback servers.
func NewBrowser(t testing.TB) *Browser {
	t.Helper()

	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("Chromium is not installed: %v; run tests/scripts/setup.sh", err)
	}

	logFile, err := os.Create(filepath.Join(ArtifactsDir(t), "chromium.log"))
	if err != nil {
		t.Fatalf("create Chromium log: %v", err)
	}

	options := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.*"),
		chromedp.CombinedOutput(logFile),
	)
	allocatorCtx, cancelAllocator := chromedp.NewExecAllocator(context.Background(), options...)
	browserCtx, cancelBrowser := chromedp.NewContext(allocatorCtx, chromedp.WithLogf(t.Logf))

	b := &Browser{t: t, ctx: browserCtx}
	t.Cleanup(func() {
		if t.Failed() {
			b.saveFailureState()
		}
		cancelBrowser()
		cancelAllocator()
		logFile.Close()
	})

	// The first action starts the browser. It gets no timeout, because a
	// deadline on it would also end the browser.
	if err := chromedp.Do(browserCtx); err != nil {
		t.Fatalf("start Chromium: %v; see %s", err, logFile.Name())
	}
	return b
}

// Context returns the tab's chromedp context, for actions that the methods
// of Browser do not cover.
func (b *Browser) Context() context.Context {
	return b.ctx
}

func (b *Browser) do(step string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()

	ctx, cancel := context.WithTimeout(b.ctx, browserActionTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("browser: %s: %v", step, err)
	}
}

func runBrowserAction[T any](b *Browser, step string, action chromedp.Action[T]) T {
	b.t.Helper()

	ctx, cancel := context.WithTimeout(b.ctx, browserActionTimeout)
	defer cancel()
	value, err := chromedp.Run(ctx, action)
	if err != nil {
		b.t.Fatalf("browser: %s: %v", step, err)
	}
	return value
}

// SignIn logs the user in to the server through the API and gives the
// browser the session cookies of that login (MMAUTHTOKEN, MMUSERID and
// MMCSRF), as the web app has them after a login.
func (b *Browser) SignIn(mm *Mattermost, user *User) {
	b.t.Helper()

	cookies := loginCookies(b.t, mm, user)
	for _, cookie := range cookies {
		params := network.SetCookieParams{
			Name:     cookie.Name,
			Value:    cookie.Value,
			URL:      mm.URL,
			Path:     "/",
			HTTPOnly: &cookie.HttpOnly,
		}
		if _, err := chromedp.Call(b.ctx, network.SetCookie, params); err != nil {
			b.t.Fatalf("browser: set cookie %s: %v", cookie.Name, err)
		}
	}
}

// loginCookies logs in with the X-Requested-With header of the web app, for
// which the server sets session cookies in the response, and returns them.
func loginCookies(t testing.TB, mm *Mattermost, user *User) []*http.Cookie {
	t.Helper()

	body, err := json.Marshal(map[string]string{"login_id": user.Username, "password": user.Password})
	if err != nil {
		t.Fatalf("encode login request: %v", err)
	}
	request, err := http.NewRequest(http.MethodPost, mm.URL+"/api/v4/users/login", bytes.NewReader(body))
	if err != nil {
		t.Fatalf("build login request: %v", err)
	}
	request.Header.Set("Content-Type", "application/json")
	request.Header.Set(model.HeaderRequestedWith, model.HeaderRequestedWithXML)

	response, err := http.DefaultClient.Do(request)
	if err != nil {
		t.Fatalf("log in as %q for the browser: %v", user.Username, err)
	}
	defer response.Body.Close()
	if response.StatusCode != http.StatusOK {
		t.Fatalf("log in as %q for the browser: status %s", user.Username, response.Status)
	}

	var cookies []*http.Cookie
	for _, cookie := range response.Cookies() {
		switch cookie.Name {
		case model.SessionCookieToken, model.SessionCookieUser, model.SessionCookieCsrf:
			cookies = append(cookies, cookie)
		}
	}
	if len(cookies) != 3 {
		t.Fatalf("login as %q returned %d of the 3 session cookies", user.Username, len(cookies))
	}
	return cookies
}

// Navigate opens url and waits for the page to load.
func (b *Browser) Navigate(url string) {
	b.t.Helper()

	b.do("navigate to "+url, chromedp.Navigate(url))
}

// Click waits until the element that the CSS selector matches is visible and
// clicks it.
func (b *Browser) Click(selector string) {
	b.t.Helper()

	b.do("click "+selector, chromedp.Click(chromedp.CSS(selector), chromedp.NodeVisible))
}

// Type waits until the element that the CSS selector matches is visible and
// types text into it.
func (b *Browser) Type(selector, text string) {
	b.t.Helper()

	b.do("type into "+selector, chromedp.SendKeys(chromedp.CSS(selector), text, chromedp.NodeVisible))
}

// WaitVisible waits until an element that the CSS selector matches is
// visible.
func (b *Browser) WaitVisible(selector string) {
	b.t.Helper()

	b.do("wait for "+selector, chromedp.WaitVisible(chromedp.CSS(selector)))
}

// BodyText returns the rendered text of the page body, as innerText has it.
func (b *Browser) BodyText() string {
	b.t.Helper()

	return runBrowserAction(b, "read body text", chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
}

// URL returns the address of the page, after any redirects.
func (b *Browser) URL() string {
	b.t.Helper()

	return runBrowserAction(b, "read location", chromedp.Location())
}

// Screenshot saves a PNG of the whole page as <name>.png in the test's
// artifacts folder and returns its path.
func (b *Browser) Screenshot(name string) string {
	b.t.Helper()

	image := runBrowserAction(b, "take screenshot", chromedp.FullScreenshot(100))
	path := filepath.Join(ArtifactsDir(b.t), sanitizeFileName(name)+".png")
	if err := os.WriteFile(path, image, 0o644); err != nil {
		b.t.Fatalf("save screenshot: %v", err)
	}
	return path
}

// saveFailureState saves a screenshot and logs the URL of the page. Cleanup
// calls it after a failure, so it logs errors instead of failing again.
func (b *Browser) saveFailureState() {
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()

	location, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		b.t.Logf("browser: read location after failure: %v", err)
	}
	image, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Logf("browser: take screenshot after failure: %v", err)
		return
	}

	path := filepath.Join(ArtifactsDir(b.t), "failure.png")
	if err := os.WriteFile(path, image, 0o644); err != nil {
		b.t.Logf("browser: save screenshot after failure: %v", err)
		return
	}
	b.t.Logf("browser was at %s; screenshot in %s", location, path)
}
