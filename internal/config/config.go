// Package config reads authmail's settings: flags first, then AUTHMAIL_*
// environment variables, then defaults.
package config

import (
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Settings are the server's settings.
type Settings struct {
	// Addr is the HTTP listen address.
	Addr string
	// DataDir holds the SQLite database, the generated admin key and the
	// generated secret key.
	DataDir string
	// Database is sqlite://PATH or postgres://...; empty means SQLite in
	// DataDir.
	Database string
	// LogFormat is text or json.
	LogFormat string
	// LogLevel is debug, info, warn or error.
	LogLevel string
	// Workers is how many deliveries run at once; 0 runs HTTP only.
	Workers int
	// FirstAttemptWait bounds the delivery attempt made inside a request.
	FirstAttemptWait time.Duration
	// ShutdownTimeout bounds how long in-flight sends may take at SIGTERM.
	ShutdownTimeout time.Duration
}

// DatabaseURL returns the database URL, defaulting to SQLite in DataDir.
func (s Settings) DatabaseURL() string {
	if s.Database != "" {
		return s.Database
	}
	return "sqlite://" + filepath.Join(s.DataDir, "authmail.db")
}

// Parse reads settings for a command from args and the environment.
func Parse(name string, args []string, getenv func(string) string, stderr io.Writer) (Settings, error) {
	env := func(key, def string) string {
		if v := getenv("AUTHMAIL_" + key); v != "" {
			return v
		}
		return def
	}
	fs := flag.NewFlagSet("authmail "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var s Settings
	fs.StringVar(&s.Addr, "addr", env("ADDR", "127.0.0.1:8080"), "HTTP listen address (AUTHMAIL_ADDR)")
	fs.StringVar(&s.DataDir, "data-dir", env("DATA_DIR", "./authmail-data"), "folder for the SQLite database and generated keys (AUTHMAIL_DATA_DIR)")
	// The database URL may carry a password, so the environment's value is
	// applied after parsing rather than as the flag's default, which the
	// usage text prints.
	fs.StringVar(&s.Database, "database", "", "sqlite://PATH or postgres://USER@HOST/DB (AUTHMAIL_DATABASE; default SQLite in the data dir)")
	fs.StringVar(&s.LogFormat, "log-format", env("LOG_FORMAT", "text"), "log format: text or json (AUTHMAIL_LOG_FORMAT)")
	fs.StringVar(&s.LogLevel, "log-level", env("LOG_LEVEL", "info"), "log level: debug, info, warn or error (AUTHMAIL_LOG_LEVEL)")
	workers, err := strconv.Atoi(env("WORKERS", "32"))
	if err != nil {
		return s, fmt.Errorf("AUTHMAIL_WORKERS must be a number")
	}
	fs.IntVar(&s.Workers, "workers", workers, "deliveries run at once; 0 serves HTTP only (AUTHMAIL_WORKERS)")
	wait, err := time.ParseDuration(env("FIRST_ATTEMPT_WAIT", "8s"))
	if err != nil {
		return s, fmt.Errorf("AUTHMAIL_FIRST_ATTEMPT_WAIT must be a duration such as 8s")
	}
	fs.DurationVar(&s.FirstAttemptWait, "first-attempt-wait", wait, "how long a request waits for the first delivery attempt (AUTHMAIL_FIRST_ATTEMPT_WAIT)")
	shutdown, err := time.ParseDuration(env("SHUTDOWN_TIMEOUT", "20s"))
	if err != nil {
		return s, fmt.Errorf("AUTHMAIL_SHUTDOWN_TIMEOUT must be a duration such as 20s")
	}
	fs.DurationVar(&s.ShutdownTimeout, "shutdown-timeout", shutdown, "how long in-flight sends may finish at shutdown (AUTHMAIL_SHUTDOWN_TIMEOUT)")
	if err := fs.Parse(args); err != nil {
		return s, err
	}
	if s.Database == "" {
		s.Database = env("DATABASE", "")
	}
	if fs.NArg() > 0 {
		return s, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	switch s.LogFormat {
	case "text", "json":
	default:
		return s, fmt.Errorf("--log-format must be text or json")
	}
	switch strings.ToLower(s.LogLevel) {
	case "debug", "info", "warn", "error":
	default:
		return s, fmt.Errorf("--log-level must be debug, info, warn or error")
	}
	if s.Workers < 0 || s.Workers > 1000 {
		return s, fmt.Errorf("--workers must be from 0 to 1000")
	}
	if s.FirstAttemptWait < 100*time.Millisecond || s.FirstAttemptWait > time.Minute {
		return s, fmt.Errorf("--first-attempt-wait must be from 100ms to 1m")
	}
	return s, nil
}
