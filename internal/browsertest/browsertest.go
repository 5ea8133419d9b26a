// Package browsertest runs tests in a real browser: Debian's chromium,
// headless, driven by github.com/chromedp/chromedp. A test gets a browser
// with New; each Context is a fresh browser profile (its own cookies), so
// one test can play a second person or a second device. Without chromium a
// test skips, except under CI=true, where it fails: the browser tests are
// part of what CI proves.
package browsertest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// ExecEnv names the environment variable that points at the browser binary
// when it is not chromium on the PATH.
const ExecEnv = "AUTHMAIL_CHROMIUM"

// ScreenshotEnv names the environment variable with the directory that
// screenshots are written to; unset, they go to test-output/screenshots in
// the module root.
const ScreenshotEnv = "AUTHMAIL_SCREENSHOT_DIR"

// timeout bounds one test's whole use of the browser, so a page that never
// finishes loading fails the test instead of hanging the run.
const timeout = 2 * time.Minute

// Browser is one headless browser process for one test.
type Browser struct {
	t     testing.TB
	alloc context.Context
	root  context.Context
}

// New starts a headless browser for t and stops it when t ends. It skips t
// when no browser is installed, unless CI=true, where it fails t.
func New(t testing.TB) *Browser {
	t.Helper()
	path := execPath()
	if path == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("no browser: install Debian's chromium (apt-get install chromium) or set %s", ExecEnv)
		}
		t.Skipf("no browser installed (chromium, or %s); the browser tests run in CI", ExecEnv)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	// The flags keep the browser off the network beyond what the test
	// serves on loopback: this machine refuses other connections, and a
	// browser that keeps trying slows every start.
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("no-proxy-server", true),
		chromedp.WindowSize(1024, 800),
	)
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(cancelAlloc)
	root, cancelRoot := chromedp.NewContext(alloc, chromedp.WithErrorf(t.Logf))
	t.Cleanup(cancelRoot)
	if err := chromedp.Do(root); err != nil { // starts the browser
		t.Fatalf("starting %s: %v", path, err)
	}
	return &Browser{t: t, alloc: alloc, root: root}
}

// execPath finds the browser: ExecEnv, then the names Debian and others
// install it under.
func execPath() string {
	if p := os.Getenv(ExecEnv); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// Context returns a new tab in a browser profile of its own: its cookies
// and storage are shared with no other Context.
func (b *Browser) Context() context.Context {
	ctx, cancel := chromedp.NewContext(b.root, chromedp.WithNewBrowserContext())
	b.t.Cleanup(cancel)
	return ctx
}

// Do runs steps in ctx, in order, and fails the test, saying what it was
// doing, on the first error.
func (b *Browser) Do(ctx context.Context, doing string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.t.Fatalf("%s: %v", doing, err)
	}
}

// Navigating runs steps that make the tab load another page (a click on a
// submit button or a link) and returns once the new page has loaded, so the
// steps after it query the new page and not the one going away (a query
// that races a navigation fails with "Cannot find context with specified
// id"). It listens for the load before the steps run, so a fast page is
// not missed.
func (b *Browser) Navigating(ctx context.Context, doing string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	loaded := chromedp.Events(ctx, page.LoadEventFired)
	b.Do(ctx, doing, steps...)
	for _, err := range loaded {
		if err != nil {
			b.t.Fatalf("%s: waiting for the next page: %v", doing, err)
		}
		return
	}
	b.t.Fatalf("%s: the tab closed before the next page loaded", doing)
}

// Get runs one action in ctx and returns its value (a text, a location, an
// attribute), failing the test, saying what it was doing, on an error.
func Get[T any](b *Browser, ctx context.Context, doing string, action chromedp.Action[T]) T {
	b.t.Helper()
	v, err := chromedp.Run(ctx, action)
	if err != nil {
		b.t.Fatalf("%s: %v", doing, err)
	}
	return v
}

// Screenshot saves the whole page in ctx as a PNG named after the test and
// name, and logs where it is. Screenshots are test output: CI keeps them,
// and a person reviewing a page change looks at them.
func (b *Browser) Screenshot(ctx context.Context, name string) string {
	b.t.Helper()
	png := Get(b, ctx, "taking the screenshot "+name, chromedp.FullScreenshot(100))
	dir := ScreenshotDir()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.t.Fatal(err)
	}
	path := filepath.Join(dir, fileName(b.t.Name())+"--"+fileName(name)+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("screenshot %s", path)
	return path
}

// ScreenshotDir is where screenshots go: ScreenshotEnv, else
// test-output/screenshots in the module root.
func ScreenshotDir() string {
	if d := os.Getenv(ScreenshotEnv); d != "" {
		return d
	}
	return filepath.Join(moduleRoot(), "test-output", "screenshots")
}

// moduleRoot is the nearest directory above the working directory that
// holds go.mod (a test runs in its package's directory).
func moduleRoot() string {
	dir, err := os.Getwd()
	if err != nil {
		return os.TempDir()
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d
		}
		if filepath.Dir(d) == d {
			return dir
		}
	}
}

var unsafeChars = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

func fileName(s string) string {
	return strings.Trim(unsafeChars.ReplaceAllString(s, "_"), "_")
}
