package app_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/authmail/authmail/connectors/standard" // the dev inbox a fresh install activates, and SMTP
	"github.com/authmail/authmail/internal/app"
	"github.com/authmail/authmail/internal/app/apptest"
	"github.com/authmail/authmail/internal/config"
)

// start runs an app with its workers on dataDir and dbURL until the test
// ends or stop is called.
func start(t *testing.T, dataDir, dbURL string, opts app.Options) (a *app.App, srv *httptest.Server, stop func()) {
	t.Helper()
	logger := slog.New(slog.NewTextHandler(&apptest.Buffer{}, nil))
	s := config.Settings{DataDir: dataDir, Database: dbURL, Workers: 2, FirstAttemptWait: 2 * time.Second}
	a, err := app.New(context.Background(), s, opts, logger)
	if err != nil {
		t.Fatalf("app.New: %v", err)
	}
	if err := a.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	srv = httptest.NewServer(a.Handler())
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := a.Stop(ctx); err != nil {
			t.Errorf("Stop: %v", err)
		}
	}
	t.Cleanup(stop)
	return a, srv, stop
}

func get(t *testing.T, srv *httptest.Server, key, path string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest("GET", srv.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

type conn struct {
	ID          string `json:"id"`
	ConnectorID string `json:"connectorId"`
}

func connectorList(t *testing.T, srv *httptest.Server, key string) []conn {
	t.Helper()
	status, b := get(t, srv, key, "/api/connectors")
	if status != 200 {
		t.Fatalf("GET /api/connectors: %d %s", status, b)
	}
	var out []conn
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestFirstStartGeneratesKeys: with no keys given, the first start writes
// the admin key and the secret key once, and later starts reuse them.
func TestFirstStartGeneratesKeys(t *testing.T) {
	t.Setenv("AUTHMAIL_SECRET_KEY", "")
	apptest.ForEachDB(t, func(t *testing.T, dbURL string) {
		dir := t.TempDir()
		a, srv, stop := start(t, dir, dbURL, app.Options{})
		key := a.AdminKey
		if !strings.HasPrefix(key, "am_") {
			t.Fatalf("generated admin key = %q", key)
		}
		for _, name := range []string{"admin-key", "secret-key"} {
			fi, err := os.Stat(filepath.Join(dir, name))
			if err != nil || fi.Mode().Perm() != 0o600 {
				t.Fatalf("%s: %v, mode %v, want 0600", name, err, fi.Mode().Perm())
			}
		}
		written, _ := os.ReadFile(filepath.Join(dir, "admin-key"))
		if strings.TrimSpace(string(written)) != key {
			t.Errorf("admin-key file = %q, want the generated key", written)
		}
		secret, _ := os.ReadFile(filepath.Join(dir, "secret-key"))
		if status, _ := get(t, srv, key, "/api/connectors"); status != 200 {
			t.Fatalf("the generated key is refused: %d", status)
		}
		if status, _ := get(t, srv, "am_other", "/api/connectors"); status != 401 {
			t.Fatalf("another key is accepted: %d", status)
		}
		conns := connectorList(t, srv, key)
		if len(conns) != 1 || conns[0].ConnectorID != "dev-inbox" {
			t.Fatalf("fresh install connectors = %+v, want the dev inbox", conns)
		}
		stop()

		// Second start: nothing generated, the same keys work, the sealed
		// connector config still opens.
		a2, srv2, _ := start(t, dir, dbURL, app.Options{})
		if a2.AdminKey != "" {
			t.Errorf("second start generated another admin key")
		}
		if again, _ := os.ReadFile(filepath.Join(dir, "secret-key")); string(again) != string(secret) {
			t.Error("second start replaced the secret key")
		}
		if got := connectorList(t, srv2, key); len(got) != 1 || got[0].ID != conns[0].ID {
			t.Errorf("after restart connectors = %+v, want %+v", got, conns)
		}
	})
}

// TestFreshInstallWithGivenAdminKey: an admin key from the environment
// still gets the dev inbox on a fresh install, and a deleted connector is
// not brought back by a restart.
func TestFreshInstallWithGivenAdminKey(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, dbURL string) {
		dir := t.TempDir()
		opts := app.Options{SecretKey: apptest.SecretKey, AdminKey: apptest.AdminKey}
		a, srv, stop := start(t, dir, dbURL, opts)
		if a.AdminKey != "" {
			t.Errorf("AdminKey = %q, want empty when the key is given", a.AdminKey)
		}
		if _, err := os.Stat(filepath.Join(dir, "admin-key")); !os.IsNotExist(err) {
			t.Errorf("admin-key file written although the key was given: %v", err)
		}
		conns := connectorList(t, srv, apptest.AdminKey)
		if len(conns) != 1 || conns[0].ConnectorID != "dev-inbox" {
			t.Fatalf("connectors = %+v, want the dev inbox", conns)
		}
		req, _ := http.NewRequest("DELETE", srv.URL+"/api/connectors/"+conns[0].ID, nil)
		req.Header.Set("Authorization", "Bearer "+apptest.AdminKey)
		resp, err := srv.Client().Do(req)
		if err != nil || resp.StatusCode != http.StatusNoContent {
			t.Fatalf("delete: %v %v", err, resp.Status)
		}
		resp.Body.Close()
		stop()

		// A changed admin key replaces the old one.
		opts.AdminKey = "am_rotated_key_abcdefghijklmnop"
		_, srv2, _ := start(t, dir, dbURL, opts)
		if got := connectorList(t, srv2, opts.AdminKey); len(got) != 0 {
			t.Errorf("restart brought connectors back: %+v", got)
		}
		if status, _ := get(t, srv2, apptest.AdminKey, "/api/connectors"); status != 401 {
			t.Errorf("the old admin key still works after rotation: %d", status)
		}
	})
}

// TestGivenAdminKeyIsChecked: the admin key is stored as a fast, unsalted
// hash and guards every management route, so a short given key is refused
// at start; surrounding whitespace (a key read from a file) is dropped, as
// it is from the presented Bearer token.
func TestGivenAdminKeyIsChecked(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, dbURL string) {
		s := config.Settings{DataDir: t.TempDir(), Database: dbURL, FirstAttemptWait: time.Second}
		logger := slog.New(slog.DiscardHandler)
		_, err := app.New(context.Background(), s, app.Options{SecretKey: apptest.SecretKey, AdminKey: "letmein"}, logger)
		if err == nil || !strings.Contains(err.Error(), "AUTHMAIL_ADMIN_KEY") {
			t.Fatalf("a 7-character admin key: err = %v, want a refusal naming AUTHMAIL_ADMIN_KEY", err)
		}
		_, srv, _ := start(t, t.TempDir(), dbURL, app.Options{SecretKey: apptest.SecretKey, AdminKey: apptest.AdminKey + "\n"})
		if status, _ := get(t, srv, apptest.AdminKey, "/api/connectors"); status != 200 {
			t.Fatalf("a key given with a trailing newline: status %d, want 200", status)
		}
	})
}

// TestGivenSecretKeyIsUsedInsteadOfAKeyFile: a key given as text (what
// AUTHMAIL_SECRET_KEY holds) seals the install, so no key file is
// generated; a malformed one is refused naming the variable.
func TestGivenSecretKeyIsUsedInsteadOfAKeyFile(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, dbURL string) {
		logger := slog.New(slog.DiscardHandler)
		bad := config.Settings{DataDir: t.TempDir(), Database: dbURL, FirstAttemptWait: time.Second}
		if _, err := app.New(context.Background(), bad, app.Options{SecretKeyText: "not-a-key", AdminKey: apptest.AdminKey}, logger); err == nil ||
			!strings.Contains(err.Error(), "AUTHMAIL_SECRET_KEY") {
			t.Fatalf("a malformed key: err = %v, want a refusal naming AUTHMAIL_SECRET_KEY", err)
		}
		dir := t.TempDir()
		_, srv, _ := start(t, dir, dbURL, app.Options{SecretKeyText: strings.Repeat("ab", 32), AdminKey: apptest.AdminKey})
		if status, _ := get(t, srv, apptest.AdminKey, "/api/connectors"); status != 200 {
			t.Fatalf("GET /api/connectors: %d", status)
		}
		if _, err := os.Stat(filepath.Join(dir, "secret-key")); !os.IsNotExist(err) {
			t.Fatalf("a key file was written although a key was given (stat: %v)", err)
		}
	})
}
