package config

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestDefaults(t *testing.T) {
	s, err := Parse("serve", nil, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if s.Addr != "127.0.0.1:8080" || s.DataDir != "./authmail-data" || s.LogFormat != "text" || s.Workers != 32 || s.FirstAttemptWait != 8*time.Second {
		t.Fatalf("defaults = %+v", s)
	}
	if s.DatabaseURL() != "sqlite://authmail-data/authmail.db" {
		t.Fatalf("default database = %q", s.DatabaseURL())
	}
}

func TestFlagsBeatEnvironment(t *testing.T) {
	e := env(map[string]string{"AUTHMAIL_ADDR": "127.0.0.1:9000", "AUTHMAIL_LOG_FORMAT": "json", "AUTHMAIL_DATABASE": "postgres://x/y", "AUTHMAIL_WORKERS": "0"})
	s, err := Parse("serve", []string{"--addr", "127.0.0.1:9001"}, e, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if s.Addr != "127.0.0.1:9001" || s.LogFormat != "json" || s.DatabaseURL() != "postgres://x/y" || s.Workers != 0 {
		t.Fatalf("settings = %+v", s)
	}
}

func TestBadValues(t *testing.T) {
	for _, tc := range []struct {
		args []string
		env  map[string]string
	}{
		{[]string{"--log-format", "xml"}, nil},
		{[]string{"--log-level", "loud"}, nil},
		{[]string{"--workers", "-1"}, nil},
		{[]string{"--first-attempt-wait", "1ms"}, nil},
		{[]string{"extra"}, nil},
		{nil, map[string]string{"AUTHMAIL_WORKERS": "many"}},
		{nil, map[string]string{"AUTHMAIL_FIRST_ATTEMPT_WAIT": "soon"}},
	} {
		if _, err := Parse("serve", tc.args, env(tc.env), io.Discard); err == nil {
			t.Errorf("Parse(%v, %v) accepted a bad value", tc.args, tc.env)
		}
	}
}

// TestUsageHidesDatabasePassword: a flag mistake prints the usage, whose
// defaults come from the environment; the database password in
// AUTHMAIL_DATABASE must not be among them.
func TestUsageHidesDatabasePassword(t *testing.T) {
	e := env(map[string]string{"AUTHMAIL_DATABASE": "postgres://app:s3cr3t-pw@db.internal/authmail"})
	for _, args := range [][]string{{"--no-such-flag"}, {"-h"}} {
		var out strings.Builder
		if _, err := Parse("serve", args, e, &out); err == nil {
			t.Fatalf("Parse(%v) succeeded", args)
		}
		if strings.Contains(out.String(), "s3cr3t-pw") {
			t.Errorf("Parse(%v) printed the database password:\n%s", args, out.String())
		}
		if !strings.Contains(out.String(), "-database") {
			t.Errorf("Parse(%v) printed no usage:\n%s", args, out.String())
		}
	}
	s, err := Parse("serve", nil, e, io.Discard)
	if err != nil || s.DatabaseURL() != "postgres://app:s3cr3t-pw@db.internal/authmail" {
		t.Fatalf("database from the environment = %q, %v", s.DatabaseURL(), err)
	}
	s, err = Parse("serve", []string{"--database", "sqlite:///tmp/x.db"}, e, io.Discard)
	if err != nil || s.DatabaseURL() != "sqlite:///tmp/x.db" {
		t.Fatalf("--database beats the environment: got %q, %v", s.DatabaseURL(), err)
	}
}

func writeConfig(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "authmail.yaml")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestConfigFileIsTheLastLayerBeforeDefaults(t *testing.T) {
	p := writeConfig(t, "addr: 127.0.0.1:7000\nworkers: 4\nlog-format: json\nfirst-attempt-wait: 3s\ndatabase: postgres://u:pw@db/authmail\n")
	s, err := Parse("serve", []string{"--config", p, "--workers", "6"}, env(map[string]string{"AUTHMAIL_LOG_FORMAT": "text"}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if s.Addr != "127.0.0.1:7000" || s.Workers != 6 || s.LogFormat != "text" || s.FirstAttemptWait != 3*time.Second || s.Database != "postgres://u:pw@db/authmail" {
		t.Fatalf("settings = %+v: want addr and wait from the file, workers from the flag, log format from the environment", s)
	}
	// AUTHMAIL_CONFIG names the file too.
	s, err = Parse("serve", nil, env(map[string]string{"AUTHMAIL_CONFIG": p}), io.Discard)
	if err != nil || s.Addr != "127.0.0.1:7000" {
		t.Fatalf("AUTHMAIL_CONFIG: %+v, %v", s, err)
	}
}

func TestConfigFileMistakes(t *testing.T) {
	for _, content := range []string{"adr: x\n", "workers: [1, 2]\n", "addr: [\n", "workers: many\n"} {
		p := writeConfig(t, content)
		if _, err := Parse("serve", []string{"--config", p}, env(nil), io.Discard); err == nil {
			t.Errorf("config file %q was accepted", content)
		}
	}
	if _, err := Parse("serve", []string{"--config", filepath.Join(t.TempDir(), "missing.yaml")}, env(nil), io.Discard); err == nil {
		t.Error("a missing config file was accepted")
	}
}

func TestUsageNeverShowsTheDatabaseURL(t *testing.T) {
	var out strings.Builder
	p := writeConfig(t, "database: postgres://u:filepw@db/x\n")
	_, _ = Parse("serve", []string{"--config", p, "-h"}, env(map[string]string{"AUTHMAIL_DATABASE": "postgres://u:envpw@db/x"}), &out)
	if strings.Contains(out.String(), "filepw") || strings.Contains(out.String(), "envpw") {
		t.Fatalf("usage text shows a database password:\n%s", out.String())
	}
}

func TestErrorsNameWhereTheValueCameFrom(t *testing.T) {
	p := writeConfig(t, "log-format: xml\n")
	for _, tc := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"--workers", "x"}, nil, "--workers must be a number"},
		{nil, map[string]string{"AUTHMAIL_WORKERS": "x"}, "AUTHMAIL_WORKERS must be a number"},
		{[]string{"--config", p}, nil, "log-format in " + p + " must be text or json"},
	} {
		_, err := Parse("serve", tc.args, env(tc.env), io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%v, %v) = %v, want %q", tc.args, tc.env, err, tc.want)
		}
	}
}

// TestEachCommandReadsOnlyItsSettings: a command refuses another
// command's flag, ignores another command's variable and keeps its
// default, and accepts a config file shared with the other commands.
func TestEachCommandReadsOnlyItsSettings(t *testing.T) {
	for _, tc := range []struct{ cmd, flag string }{{"worker", "--addr"}, {"worker", "--first-attempt-wait"}, {"migrate", "--workers"}, {"migrate", "--shutdown-timeout"}} {
		if _, err := Parse(tc.cmd, []string{tc.flag, "1"}, env(nil), io.Discard); err == nil || !strings.Contains(err.Error(), "flag provided but not defined") {
			t.Errorf("%s %s 1: %v, want the flag refused", tc.cmd, tc.flag, err)
		}
	}
	s, err := Parse("migrate", nil, env(map[string]string{"AUTHMAIL_WORKERS": "many", "AUTHMAIL_ADDR": "elsewhere:1"}), io.Discard)
	if err != nil || s.Workers != 32 || s.Addr != "127.0.0.1:8080" {
		t.Errorf("migrate with serve's variables set: %+v, %v; want them ignored", s, err)
	}
	p := writeConfig(t, "addr: 127.0.0.1:7000\nworkers: 4\nfirst-attempt-wait: 3s\ndata-dir: /var/lib/authmail\n")
	for _, cmd := range []string{"serve", "worker", "migrate"} {
		s, err := Parse(cmd, []string{"--config", p}, env(nil), io.Discard)
		if err != nil || s.DataDir != "/var/lib/authmail" {
			t.Errorf("%s with a shared config file: %+v, %v", cmd, s, err)
		}
	}
	if _, err := Parse("version", nil, env(nil), io.Discard); err == nil {
		t.Error("Parse accepted a command that reads no settings")
	}
}

// TestUsageShowsEachFlagsKind: the usage names numbers int and durations
// duration, with their defaults unquoted, as the flag package does for
// flag.Int and flag.Duration.
func TestUsageShowsEachFlagsKind(t *testing.T) {
	var out strings.Builder
	if _, err := Parse("serve", []string{"-h"}, env(nil), &out); err != flag.ErrHelp {
		t.Fatalf("-h: %v, want flag.ErrHelp", err)
	}
	for _, want := range []string{
		"usage: authmail serve [flags]\n",
		"  -workers int\n", "(AUTHMAIL_WORKERS) (default 32)\n",
		"  -first-attempt-wait duration\n", "(default 8s)\n",
		"  -shutdown-timeout duration\n", "(default 20s)\n",
		"  -addr string\n", `(default "127.0.0.1:8080")`,
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("usage lacks %q:\n%s", want, out.String())
		}
	}
}

// TestOutboundPolicySettings: --allow-private-endpoints is a bool that may
// stand alone, from the flag, the variable or the file; --allow-endpoints
// is a list of CIDRs or IPs; bad values are refused naming their source;
// both are serve's and worker's settings, not migrate's.
func TestOutboundPolicySettings(t *testing.T) {
	s, err := Parse("serve", nil, env(nil), io.Discard)
	if err != nil || s.AllowPrivateEndpoints || len(s.AllowEndpoints) != 0 {
		t.Fatalf("defaults: %+v, %v; want nothing allowed", s, err)
	}
	s, err = Parse("worker", []string{"--allow-private-endpoints", "--allow-endpoints", " 10.20.0.0/16, 192.0.2.25,fd00::/8 "}, env(nil), io.Discard)
	if err != nil || !s.AllowPrivateEndpoints || fmt.Sprint(s.AllowEndpoints) != "[10.20.0.0/16 192.0.2.25/32 fd00::/8]" {
		t.Fatalf("flags: %+v, %v", s, err)
	}
	s, err = Parse("serve", nil, env(map[string]string{"AUTHMAIL_ALLOW_PRIVATE_ENDPOINTS": "true", "AUTHMAIL_ALLOW_ENDPOINTS": "10.1.2.3/8"}), io.Discard)
	if err != nil || !s.AllowPrivateEndpoints || fmt.Sprint(s.AllowEndpoints) != "[10.0.0.0/8]" {
		t.Fatalf("environment: %+v, %v", s, err)
	}
	p := writeConfig(t, "allow-private-endpoints: true\nallow-endpoints: 127.0.0.0/8,::1\n")
	s, err = Parse("serve", []string{"--config", p, "--allow-private-endpoints=false"}, env(nil), io.Discard)
	if err != nil || s.AllowPrivateEndpoints || fmt.Sprint(s.AllowEndpoints) != "[127.0.0.0/8 ::1/128]" {
		t.Fatalf("file and flag: %+v, %v; want the flag's false and the file's list", s, err)
	}
	for _, tc := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"--allow-private-endpoints=maybe"}, nil, "--allow-private-endpoints must be true or false"},
		{nil, map[string]string{"AUTHMAIL_ALLOW_PRIVATE_ENDPOINTS": "yes please"}, "AUTHMAIL_ALLOW_PRIVATE_ENDPOINTS must be true or false"},
		{[]string{"--allow-endpoints", "10.0.0.0/8,intranet"}, nil, `--allow-endpoints: "intranet" is not a CIDR`},
		{nil, map[string]string{"AUTHMAIL_ALLOW_ENDPOINTS": "10.0.0.0/33"}, `AUTHMAIL_ALLOW_ENDPOINTS: "10.0.0.0/33" is not a CIDR`},
	} {
		if _, err := Parse("serve", tc.args, env(tc.env), io.Discard); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%v, %v) = %v, want %q", tc.args, tc.env, err, tc.want)
		}
	}
	if _, err := Parse("migrate", []string{"--allow-private-endpoints"}, env(nil), io.Discard); err == nil {
		t.Error("migrate accepted --allow-private-endpoints")
	}
}

// TestReadmeListsEverySetting: the README's settings table has a row for
// every setting, with its flag and its variable.
func TestReadmeListsEverySetting(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range options() {
		row := "| `--" + o.name + "` | `" + EnvName(o.name) + "` |"
		if !strings.Contains(string(b), row) {
			t.Errorf("the README's settings table has no row %q", row)
		}
	}
}

// TestPublicURLSetting: --public-url (or AUTHMAIL_PUBLIC_URL, or the file)
// is an absolute http or https URL without query or fragment, kept as
// given but for its trailing slashes; unset, the public URL is http:// +
// the listen address, with localhost for a host that listens everywhere.
func TestPublicURLSetting(t *testing.T) {
	s, err := Parse("serve", []string{"--addr", "127.0.0.1:9000"}, env(nil), io.Discard)
	if err != nil || s.PublicURL != "" || s.PublicBaseURL() != "http://127.0.0.1:9000" {
		t.Fatalf("default: PublicURL %q, PublicBaseURL %q, %v; want http://127.0.0.1:9000", s.PublicURL, s.PublicBaseURL(), err)
	}
	for addr, want := range map[string]string{":8080": "http://localhost:8080", "0.0.0.0:80": "http://localhost:80",
		"[::]:8443": "http://localhost:8443", "[::1]:8080": "http://[::1]:8080", "": "http://127.0.0.1:8080"} {
		if got := (Settings{Addr: addr}).PublicBaseURL(); got != want {
			t.Errorf("listening on %s: public URL %q, want %q", addr, got, want)
		}
	}
	p := writeConfig(t, "public-url: https://file.example.com\n")
	for _, tc := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"--public-url", "https://auth.example.com/"}, nil, "https://auth.example.com"},
		{[]string{"--public-url", "https://Example.com:8443/base//"}, nil, "https://Example.com:8443/base"},
		{nil, map[string]string{"AUTHMAIL_PUBLIC_URL": "http://localhost:8080"}, "http://localhost:8080"},
		{[]string{"--config", p}, nil, "https://file.example.com"},
		{[]string{"--config", p}, map[string]string{"AUTHMAIL_PUBLIC_URL": "https://env.example.com"}, "https://env.example.com"},
	} {
		s, err := Parse("serve", tc.args, env(tc.env), io.Discard)
		if err != nil || s.PublicURL != tc.want || s.PublicBaseURL() != tc.want {
			t.Errorf("Parse(%v, %v): PublicURL %q, %v; want %q", tc.args, tc.env, s.PublicURL, err, tc.want)
		}
	}
	for _, tc := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"--public-url", "auth.example.com"}, nil, "--public-url must be an absolute http or https URL"},
		{[]string{"--public-url", "ftp://auth.example.com"}, nil, "--public-url must be an absolute http or https URL"},
		{[]string{"--public-url", "https:///path"}, nil, "--public-url must be an absolute http or https URL"},
		{[]string{"--public-url", "https://auth.example.com/?tenant=a"}, nil, "--public-url must have no query or fragment"},
		{[]string{"--public-url", "https://auth.example.com/?"}, nil, "--public-url must have no query or fragment"},
		{[]string{"--public-url", "https://auth.example.com/#top"}, nil, "--public-url must have no query or fragment"},
		{[]string{"--public-url", "https://auth.example.com#"}, nil, "--public-url must have no query or fragment"},
		{nil, map[string]string{"AUTHMAIL_PUBLIC_URL": "https://me:secret@auth.example.com"}, "AUTHMAIL_PUBLIC_URL must not hold a user name or password"},
	} {
		if _, err := Parse("serve", tc.args, env(tc.env), io.Discard); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%v, %v) = %v, want %q", tc.args, tc.env, err, tc.want)
		}
	}
	if _, err := Parse("worker", []string{"--public-url", "https://auth.example.com"}, env(nil), io.Discard); err == nil {
		t.Error("worker accepted --public-url, which only serve uses")
	}
}
