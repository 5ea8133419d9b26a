// Package config reads authmail's settings: flags first, then AUTHMAIL_*
// environment variables, then an optional YAML file, then defaults.
package config

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
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

// option is one setting: its flag name (also its key in the YAML file),
// its environment variable, its default and its help text.
type option struct {
	name, def, help string
	secret          bool // never shown as a default in the usage text
}

func (o option) envName() string {
	return "AUTHMAIL_" + strings.ToUpper(strings.ReplaceAll(o.name, "-", "_"))
}

func options() []option {
	return []option{
		{name: "addr", def: "127.0.0.1:8080", help: "HTTP listen address"},
		{name: "data-dir", def: "./authmail-data", help: "folder for the SQLite database and generated keys"},
		{name: "database", help: "sqlite://PATH or postgres://USER@HOST/DB (default SQLite in the data dir)", secret: true},
		{name: "log-format", def: "text", help: "log format: text or json"},
		{name: "log-level", def: "info", help: "log level: debug, info, warn or error"},
		{name: "workers", def: "32", help: "deliveries run at once; 0 serves HTTP only"},
		{name: "first-attempt-wait", def: "8s", help: "how long a request waits for the first delivery attempt"},
		{name: "shutdown-timeout", def: "20s", help: "how long in-flight sends may finish at shutdown"},
	}
}

// Parse reads settings for a command. Each setting comes from its flag,
// else its AUTHMAIL_* environment variable, else the YAML file named by
// --config (or AUTHMAIL_CONFIG), else its default.
func Parse(name string, args []string, getenv func(string) string, stderr io.Writer) (Settings, error) {
	var s Settings
	opts := options()
	fs := flag.NewFlagSet("authmail "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", getenv("AUTHMAIL_CONFIG"), "YAML file of settings, keyed by flag name (AUTHMAIL_CONFIG)")
	flags := map[string]*string{}
	for _, o := range opts {
		def := o.def
		if o.secret {
			def = "" // the usage text prints defaults; a database URL may hold a password
		}
		flags[o.name] = fs.String(o.name, def, o.help+" ("+o.envName()+")")
	}
	if err := fs.Parse(args); err != nil {
		return s, err
	}
	if fs.NArg() > 0 {
		return s, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	file := map[string]string{}
	if *configPath != "" {
		var err error
		if file, err = readFile(*configPath, opts); err != nil {
			return s, err
		}
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	val, src := map[string]string{}, map[string]string{}
	for _, o := range opts {
		switch v := getenv(o.envName()); {
		case set[o.name]:
			val[o.name], src[o.name] = *flags[o.name], "--"+o.name
		case v != "":
			val[o.name], src[o.name] = v, o.envName()
		case file[o.name] != "":
			val[o.name], src[o.name] = file[o.name], o.name+" in "+*configPath
		default:
			val[o.name], src[o.name] = o.def, "--"+o.name
		}
	}
	s.Addr, s.DataDir, s.Database = val["addr"], val["data-dir"], val["database"]
	s.LogFormat, s.LogLevel = val["log-format"], strings.ToLower(val["log-level"])
	var err error
	if s.Workers, err = strconv.Atoi(val["workers"]); err != nil {
		return s, fmt.Errorf("%s must be a number, not %q", src["workers"], val["workers"])
	}
	if s.FirstAttemptWait, err = time.ParseDuration(val["first-attempt-wait"]); err != nil {
		return s, fmt.Errorf("%s must be a duration such as 8s, not %q", src["first-attempt-wait"], val["first-attempt-wait"])
	}
	if s.ShutdownTimeout, err = time.ParseDuration(val["shutdown-timeout"]); err != nil {
		return s, fmt.Errorf("%s must be a duration such as 20s, not %q", src["shutdown-timeout"], val["shutdown-timeout"])
	}
	return s, s.validate(src)
}

// validate checks ranges; src names where each value came from, so the
// message points at the flag, variable or file line to fix.
func (s Settings) validate(src map[string]string) error {
	switch s.LogFormat {
	case "text", "json":
	default:
		return fmt.Errorf("%s must be text or json", src["log-format"])
	}
	switch s.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("%s must be debug, info, warn or error", src["log-level"])
	}
	if s.Workers < 0 || s.Workers > 1000 {
		return fmt.Errorf("%s must be from 0 to 1000", src["workers"])
	}
	if s.FirstAttemptWait < 100*time.Millisecond || s.FirstAttemptWait > time.Minute {
		return fmt.Errorf("%s must be from 100ms to 1m", src["first-attempt-wait"])
	}
	if s.ShutdownTimeout < time.Second || s.ShutdownTimeout > 10*time.Minute {
		return fmt.Errorf("%s must be from 1s to 10m", src["shutdown-timeout"])
	}
	return nil
}

// readFile reads a YAML settings file: a mapping from flag names to
// scalar values. Unknown keys are errors, so a typo is not ignored.
func readFile(path string, opts []option) (map[string]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the config file: %w", err)
	}
	var raw map[string]any
	if err := yaml.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("config file %s is not valid YAML: %w", path, err)
	}
	known := map[string]bool{}
	for _, o := range opts {
		known[o.name] = true
	}
	out := map[string]string{}
	for k, v := range raw {
		if !known[k] {
			return nil, fmt.Errorf("config file %s: unknown setting %q", path, k)
		}
		switch v.(type) {
		case map[string]any, []any:
			return nil, fmt.Errorf("config file %s: %s must be a single value", path, k)
		case nil:
			continue
		}
		out[k] = fmt.Sprint(v)
	}
	return out, nil
}
