// Package apptest starts a complete authmail (database, delivery workers
// and HTTP API) behind an httptest server, for end-to-end tests of the
// API. Each App has its own database: a fresh SQLite file or a fresh
// PostgreSQL schema (see storetest).
package apptest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	_ "github.com/authmail/authmail/connectors/standard" // the built-in connectors every test uses
	"github.com/authmail/authmail/internal/app"
	"github.com/authmail/authmail/internal/config"
	"github.com/authmail/authmail/internal/delivery"
	"github.com/authmail/authmail/internal/dnscheck"
	"github.com/authmail/authmail/internal/store/storetest"
	"github.com/authmail/authmail/internal/testwait"
)

// AdminKey is the admin key every App accepts.
const AdminKey = "am_test_0123456789abcdefghijklmnop"

// requestTimeout bounds every request, so that a server that hangs fails
// the test instead of stalling the run.
const requestTimeout = 30 * time.Second

// SecretKey is the fixed 32-byte key that seals secrets at rest.
var SecretKey = []byte("apptest-secret-key-0123456789abc")

// App is a running authmail for one test.
type App struct {
	// BaseURL is the server's root, such as http://127.0.0.1:41234.
	BaseURL string
	// AdminKey is the key Do sends as the Bearer token.
	AdminKey string
	// App is the application under test.
	App *app.App
	// Client is the HTTP client Do uses.
	Client *http.Client

	t    testing.TB
	logs *Buffer

	contractOnce sync.Once
	contractC    *Contract
	contractErr  error
}

// options collects what New may be told.
type options struct {
	now      func() time.Time
	settings []func(*config.Settings)
}

// Option changes how New builds the app.
type Option func(*options)

// WithNow sets the app's clock (app.Options.Now).
func WithNow(now func() time.Time) Option { return func(o *options) { o.now = now } }

// WithSettings changes the app's settings before it starts, such as its
// outbound policy (by default, loopback is allowed: see New).
func WithSettings(fn func(*config.Settings)) Option {
	return func(o *options) { o.settings = append(o.settings, fn) }
}

// Loopback are the prefixes New allows connectors to reach, where the
// tests run their receivers and SMTP servers.
var Loopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}

// New starts an app on dbURL (storetest.SQLiteURL or storetest.PostgresURL)
// with the default cap on the public routes, 4 workers, a 2 s first-attempt wait and a 50 ms poll interval,
// connectors allowed to reach loopback (--allow-endpoints with Loopback:
// the tests' receivers listen there) but not the app's own address,
// logging at debug level into the App's buffer; serves it with httptest;
// and stops both at cleanup.
func New(t testing.TB, dbURL string, opts ...Option) *App {
	t.Helper()
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	logs := &Buffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	dc := delivery.Config{Workers: 4, FirstAttemptWait: 2 * time.Second, PollInterval: 50 * time.Millisecond}
	// Listen first, so that the app knows its own address.
	srv := httptest.NewUnstartedServer(nil)
	limit, _ := strconv.Atoi(config.Default(config.PublicRequestLimit))
	appLimit, _ := strconv.Atoi(config.Default(config.AppRequestLimit))
	settings := config.Settings{Addr: srv.Listener.Addr().String(), DataDir: t.TempDir(), Database: dbURL,
		Workers: dc.Workers, FirstAttemptWait: dc.FirstAttemptWait, AllowEndpoints: Loopback, PublicRequestLimit: limit,
		AppRequestLimit: appLimit}
	for _, fn := range o.settings {
		fn(&settings)
	}
	ctx := context.Background()
	// The app reads no environment; like the command, the harness passes
	// the resolver a test set with t.Setenv(dnscheck.ResolverEnv, ...).
	a, err := app.New(ctx, settings, app.Options{SecretKey: SecretKey, AdminKey: AdminKey, Now: o.now, Delivery: dc,
		DNSResolver: os.Getenv(dnscheck.ResolverEnv)}, logger)
	if err != nil {
		srv.Close()
		t.Fatalf("starting app: %v", err)
	}
	srv.Config.Handler = a.Handler()
	srv.Start()
	if err := a.Start(ctx); err != nil {
		srv.Close()
		_ = a.Stop(ctx)
		t.Fatalf("starting workers: %v", err)
	}
	client := srv.Client()
	client.Timeout = requestTimeout
	out2 := &App{BaseURL: srv.URL, AdminKey: AdminKey, App: a, Client: client, t: t, logs: logs}
	t.Cleanup(func() {
		srv.Close()
		stopCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := a.Stop(stopCtx); err != nil {
			t.Errorf("stopping app: %v", err)
		}
		if t.Failed() {
			t.Logf("app log (last 16 KiB):\n%s", tail(logs.String(), 16<<10))
		}
	})
	return out2
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}

// Logs returns everything the app has logged so far.
func (a *App) Logs() string { return a.logs.String() }

// Do sends a request with the admin key. body may be nil (no body), a
// string or []byte (sent as is) or any other value (sent as JSON). It
// returns the status and the response body, and fails the test on a
// transport error.
func (a *App) Do(method, path string, body any) (status int, respBody []byte) {
	a.t.Helper()
	h := http.Header{"Authorization": {"Bearer " + a.AdminKey}}
	resp, b := a.Request(method, path, h, body)
	return resp.StatusCode, b
}

// Request sends a request with exactly the headers given (add the admin
// key yourself) and returns the response, whose body is already read. It
// fails the test on a transport error.
func (a *App) Request(method, path string, header http.Header, body any) (*http.Response, []byte) {
	a.t.Helper()
	resp, b, err := a.TryRequest(method, path, header, body)
	if err != nil {
		a.t.Fatalf("%s %s: %v", method, path, err)
	}
	return resp, b
}

// TryRequest is Request returning transport errors instead of failing
// the test, for use from other goroutines. Like every request of the
// test client, the exchange is held to the OpenAPI document (Contract)
// and error texts to RepeatedPhrase; a breach fails the test.
func (a *App) TryRequest(method, path string, header http.Header, body any) (*http.Response, []byte, error) {
	var raw []byte
	switch b := body.(type) {
	case nil:
	case string:
		raw = []byte(b)
	case []byte:
		raw = b
	case json.RawMessage:
		raw = b
	default:
		var err error
		if raw, err = json.Marshal(b); err != nil {
			return nil, nil, fmt.Errorf("encoding request body: %w", err)
		}
	}
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, a.BaseURL+path, r)
	if err != nil {
		return nil, nil, err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if body != nil && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	// A redirect is the route's answer: the contract holds it, not the
	// page it leads to.
	client := *a.Client
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := client.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, nil, fmt.Errorf("reading body: %w", err)
	}
	var e Error
	if resp.StatusCode >= 400 && json.Unmarshal(b, &e) == nil {
		if p := RepeatedPhrase(e.Message); p != "" {
			a.t.Errorf("%s %s: the error message says %q twice: %s", method, path, p, e.Message)
		}
	}
	c, err := a.contract()
	if err != nil {
		return nil, nil, err
	}
	if err := c.Check(req, raw, resp, b); err != nil {
		a.t.Errorf("%s %s: %v\nrequest body: %.500s\nresponse body: %.1000s", method, path, err, raw, b)
	}
	return resp, b, nil
}

// TryDo is Do returning transport errors instead of failing the test.
func (a *App) TryDo(method, path string, body any) (status int, respBody []byte, err error) {
	resp, b, err := a.TryRequest(method, path, http.Header{"Authorization": {"Bearer " + a.AdminKey}}, body)
	if err != nil {
		return 0, nil, err
	}
	return resp.StatusCode, b, nil
}

// JSON sends a request with the admin key, fails the test unless the
// status is want, and decodes the response into out (when out is not nil).
func (a *App) JSON(method, path string, body any, want int, out any) {
	a.t.Helper()
	status, b := a.Do(method, path, body)
	if status != want {
		a.t.Fatalf("%s %s: status %d, want %d; body: %s", method, path, status, want, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			a.t.Fatalf("%s %s: decoding %s: %v", method, path, b, err)
		}
	}
}

// Error is an API error body.
type Error struct {
	Code    string          `json:"code"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data"`
}

// WantError sends a request with the admin key and fails the test unless
// it answers status with the error code; it returns the decoded error.
func (a *App) WantError(method, path string, body any, status int, code string) Error {
	a.t.Helper()
	got, b := a.Do(method, path, body)
	var e Error
	if err := json.Unmarshal(b, &e); err != nil {
		a.t.Fatalf("%s %s: status %d, body is not a JSON error: %s", method, path, got, b)
	}
	if got != status || e.Code != code {
		a.t.Fatalf("%s %s: got %d %s (%s), want %d %s", method, path, got, e.Code, e.Message, status, code)
	}
	return e
}

// ForEachDB runs fn as parallel subtests on a fresh SQLite database and on
// a fresh PostgreSQL schema (skipped when AUTHMAIL_TEST_DATABASE_URL is
// unset, outside CI).
func ForEachDB(t *testing.T, fn func(t *testing.T, dbURL string)) {
	t.Helper()
	t.Run("SQLite", func(t *testing.T) {
		t.Parallel()
		fn(t, storetest.SQLiteURL(t))
	})
	t.Run("Postgres", func(t *testing.T) {
		t.Parallel()
		fn(t, storetest.PostgresURL(t))
	})
}

// Run is ForEachDB with an App already started on each database.
func Run(t *testing.T, fn func(t *testing.T, a *App), opts ...Option) {
	t.Helper()
	ForEachDB(t, func(t *testing.T, dbURL string) { fn(t, New(t, dbURL, opts...)) })
}

// Buffer is a bytes.Buffer safe for concurrent use, for capturing logs.
type Buffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns what was written.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Clock is an adjustable clock: the real time plus an offset that tests
// move forward. Pass its Now to WithNow.
type Clock struct {
	mu     sync.Mutex
	offset time.Duration
}

// Now returns the real time in UTC plus the offset.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().UTC().Add(c.offset)
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.offset += d
	c.mu.Unlock()
}

// NthCode waits until the dev inbox holds n messages with a code for to
// and returns the newest message's code: delivery may finish after the
// answer that sent it.
func (a *App) NthCode(to string, n int) string {
	a.t.Helper()
	var got []string
	have := 0
	testwait.Until(a.t, 15*time.Second, func() bool {
		var msgs []struct {
			Payload map[string]any `json:"payload"`
		}
		a.JSON("GET", "/api/dev-inbox/messages?to="+url.QueryEscape(to), nil, http.StatusOK, &msgs)
		got = got[:0]
		for _, m := range msgs {
			if c, _ := m.Payload["code"].(string); c != "" {
				got = append(got, c)
			}
		}
		have = len(got)
		return have >= n
	}, "the dev inbox has %d codes for %s, want %d", &have, to, n)
	return got[0]
}
