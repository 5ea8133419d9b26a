package main

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestFirstStart starts authmail on an empty data dir with no keys in the
// environment: it must generate both keys into 0600 files, log the admin
// key's path but never the key, activate the dev inbox with a warning,
// and keep the same admin key on the next start.
func TestFirstStart(t *testing.T) {
	t.Parallel()
	inst := instance{dataDir: filepath.Join(t.TempDir(), "data")}
	p := inst.start(t)
	adminPath := filepath.Join(inst.dataDir, "admin-key")
	secretPath := filepath.Join(inst.dataDir, "secret-key")
	adminKey := readKeyFile(t, adminPath)
	secretKey := readKeyFile(t, secretPath)
	if info, err := os.Stat(inst.dataDir); err != nil || info.Mode().Perm()&0o077 != 0 {
		t.Errorf("data dir: %v, mode %v; want no access for group and others", err, info.Mode().Perm())
	}

	out := p.out.String()
	for _, secret := range []string{adminKey, secretKey} {
		if strings.Contains(out, secret) {
			t.Fatalf("a generated key appears in the log:\n%s", out)
		}
	}
	var loggedPath, warning bool
	for _, l := range lines(out) {
		if strings.Contains(l.str("msg"), "generated the admin key") && l.str("path") == adminPath {
			loggedPath = true
		}
		if l.str("level") == "WARN" && strings.Contains(l.str("msg"), "dev inbox") {
			warning = true
		}
	}
	if !loggedPath {
		t.Errorf("no log line gives the admin key's path %s:\n%s", adminPath, out)
	}
	if !warning {
		t.Errorf("no warning that the dev inbox is active:\n%s", out)
	}

	if status, _ := p.do("GET", "/api/connectors", nil); status != http.StatusUnauthorized {
		t.Errorf("GET /api/connectors without a key: status %d, want 401", status)
	}
	p.key = adminKey
	var conns []struct {
		ConnectorID string `json:"connectorId"`
	}
	p.mustDo("GET", "/api/connectors", nil, http.StatusOK, &conns)
	if len(conns) != 1 || conns[0].ConnectorID != "dev-inbox" {
		t.Errorf("connectors after first start: %+v, want the dev inbox only", conns)
	}
	if code := p.terminate(30 * time.Second); code != 0 {
		t.Fatalf("exit code %d after SIGTERM, want 0", code)
	}

	before, err := os.ReadFile(adminPath)
	if err != nil {
		t.Fatal(err)
	}
	p = inst.start(t)
	after, err := os.ReadFile(adminPath)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, after) {
		t.Errorf("the second start rewrote the admin key file")
	}
	if strings.Contains(p.out.String(), "generated the admin key") {
		t.Errorf("the second start generated another admin key:\n%s", p.out.String())
	}
	p.key = adminKey
	p.mustDo("GET", "/api/connectors", nil, http.StatusOK, nil)
	p.kill()

	code, _, stderr := command(t, nil, "migrate", "--data-dir", inst.dataDir, "--log-format", "json")
	if code != 0 || !strings.Contains(stderr, "database is up to date") {
		t.Errorf("authmail migrate: exit %d, want 0 and a log line saying the database is up to date:\n%s", code, stderr)
	}
}

// readKeyFile reads a generated key file, checking it is private.
func readKeyFile(t *testing.T, path string) string {
	t.Helper()
	info, err := os.Stat(path)
	if err != nil {
		t.Fatalf("key file: %v", err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("%s has mode %v, want 0600", path, info.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	key := strings.TrimSpace(string(b))
	if len(key) < 32 {
		t.Fatalf("%s holds %q, want a generated key", path, key)
	}
	return key
}

// TestCommandLine checks the commands that do not serve: version, help,
// unknown commands and bad settings.
func TestCommandLine(t *testing.T) {
	t.Parallel()
	code, stdout, _ := command(t, nil, "version")
	if code != 0 || !strings.HasPrefix(stdout, "authmail ") {
		t.Errorf("authmail version: exit %d, output %q; want 0 and the version", code, stdout)
	}
	code, stdout, _ = command(t, nil, "help")
	if code != 0 || !strings.Contains(stdout, "usage:") {
		t.Errorf("authmail help: exit %d, output %q", code, stdout)
	}

	for _, tc := range []struct {
		name string
		env  []string
		args []string
		want string // in stderr
	}{
		{"UnknownCommand", nil, []string{"frobnicate"}, `unknown command "frobnicate"`},
		{"UnknownFlag", nil, []string{"serve", "--no-such-flag"}, "flag provided but not defined"},
		{"WorkersNotANumber", nil, []string{"serve", "--workers", "many"}, `--workers must be a number, not "many"`},
		{"WorkersNegative", nil, []string{"serve", "--workers", "-1"}, "--workers must be from 0 to 1000"},
		{"LogFormat", nil, []string{"--log-format", "xml"}, "--log-format must be text or json"},
		{"LogLevel", nil, []string{"--log-level", "loud"}, "--log-level must be debug, info, warn or error"},
		{"FirstAttemptWaitTooShort", nil, []string{"--first-attempt-wait", "1ms"}, "--first-attempt-wait must be from 100ms to 1m"},
		{"DurationNotADuration", nil, []string{"--shutdown-timeout", "soon"}, `--shutdown-timeout must be a duration such as 20s, not "soon"`},
		{"ExtraArgument", nil, []string{"serve", "extra"}, `unexpected argument "extra"`},
		{"WorkerWithoutWorkers", nil, []string{"worker", "--workers", "0"}, "worker needs --workers above 0"},
		{"EnvWorkers", []string{"AUTHMAIL_WORKERS=lots"}, []string{"serve"}, "AUTHMAIL_WORKERS must be a number"},
		{"EnvFirstAttemptWait", []string{"AUTHMAIL_FIRST_ATTEMPT_WAIT=8"}, []string{"serve"}, "AUTHMAIL_FIRST_ATTEMPT_WAIT must be a duration"},
		{"DNSWithoutCheck", nil, []string{"dns"}, "usage: authmail dns check DOMAIN"},
		{"DKIMWithoutKeygen", nil, []string{"dkim"}, "usage: authmail dkim keygen"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := command(t, tc.env, tc.args...)
			if code != 2 {
				t.Errorf("exit code %d, want 2; stderr:\n%s", code, stderr)
			}
			if !strings.Contains(stderr, tc.want) {
				t.Errorf("stderr does not say %q:\n%s", tc.want, stderr)
			}
		})
	}
}
