package config

import (
	"io"
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
