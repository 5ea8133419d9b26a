// Package config reads authmail's settings: flags first, then AUTHMAIL_*
// environment variables, then an optional YAML file, then defaults.
package config

import (
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"slices"
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
	// AllowPrivateEndpoints lets connectors connect to loopback and
	// private addresses (internal/outbound).
	AllowPrivateEndpoints bool
	// AllowEndpoints are further prefixes connectors may connect to.
	AllowEndpoints []netip.Prefix
	// PublicURL is the URL browsers and apps reach authmail at, absolute
	// http or https with no query, fragment or trailing slash; the OpenID
	// Connect issuer is exactly PublicURL + "/oidc". Empty means the
	// default, "http://" + the listen address (see PublicBaseURL).
	PublicURL string
	// PwnedPasswordsURL is the base URL of the Pwned Passwords range API
	// the password policy's breach check asks (passwordPolicy.rejects.pwned).
	PwnedPasswordsURL string
	// PublicRequestLimit is how many requests one client (an IPv6 client
	// by its /64) may make to the public sign-in routes a minute; 0 turns
	// the cap off.
	PublicRequestLimit int
	// AppRequestLimit is how many requests the sign-ins without redirects
	// of one application may make a minute, on top of the cap per client;
	// 0 turns the cap off.
	AppRequestLimit int
	// NoDemoApp turns off the built-in demo application at /demo-app (the
	// console's "Try sign-in"), which is on by default (--demo-app).
	NoDemoApp bool
}

// The flag names of the settings other packages name in their messages.
const (
	// Addr is the listen address's flag.
	Addr = "addr"
	// AllowPrivateEndpoints is the flag that lets connectors reach
	// loopback and private addresses.
	AllowPrivateEndpoints = "allow-private-endpoints"
	// AllowEndpoints is the flag that lists prefixes connectors may reach.
	AllowEndpoints = "allow-endpoints"
	// PublicURL is the flag of the URL authmail is reached at.
	PublicURL = "public-url"
	// PwnedPasswordsURL is the flag of the breach check's range API.
	PwnedPasswordsURL = "pwned-passwords-url"
	// PublicRequestLimit is the flag of the per-client cap on the public
	// sign-in routes.
	PublicRequestLimit = "public-request-limit"
	// AppRequestLimit is the flag of the per-application cap on sign-ins
	// without redirects.
	AppRequestLimit = "app-request-limit"
	// DemoApp is the flag that serves the built-in demo application.
	DemoApp = "demo-app"
)

// PublicBaseURL is the URL authmail is reached at: PublicURL when it is
// set, else "http://" + the listen address (the default one when Addr is
// empty), with localhost for an unspecified host (":8080", "0.0.0.0:8080").
func (s Settings) PublicBaseURL() string {
	if s.PublicURL != "" {
		return s.PublicURL
	}
	addr := s.Addr
	if addr == "" {
		addr = Default(Addr)
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "http://" + addr
	}
	if ip, err := netip.ParseAddr(host); host == "" || (err == nil && ip.IsUnspecified()) {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// DatabaseURL returns the database URL, defaulting to SQLite in DataDir.
func (s Settings) DatabaseURL() string {
	if s.Database != "" {
		return s.Database
	}
	return "sqlite://" + filepath.Join(s.DataDir, "authmail.db")
}

// Kinds of setting: how a value is read and what the usage text calls it.
const (
	kindString   = "string"
	kindInt      = "int"
	kindDuration = "duration"
	kindBool     = "bool"
	kindCIDRs    = "CIDRs"
)

// option is one setting: its flag name (also its key in the YAML file),
// its kind, its default, its help text and the commands that read it.
type option struct {
	name, kind, def, help string
	secret                bool     // never shown as a default in the usage text
	commands              []string // the commands that read it
}

func options() []option {
	serve, servers, all := []string{"serve"}, []string{"serve", "worker"}, []string{"serve", "worker", "migrate"}
	return []option{
		{name: Addr, kind: kindString, def: "127.0.0.1:8080", help: "HTTP listen address", commands: serve},
		{name: "data-dir", kind: kindString, def: "./authmail-data", help: "folder for the SQLite database and generated keys", commands: all},
		{name: "database", kind: kindString, help: "sqlite://PATH or postgres://USER@HOST/DB (default SQLite in the data dir)", secret: true, commands: all},
		{name: "log-format", kind: kindString, def: "text", help: "log format: text or json", commands: all},
		{name: "log-level", kind: kindString, def: "info", help: "log level: debug, info, warn or error", commands: all},
		{name: "workers", kind: kindInt, def: "32", help: "deliveries run at once (serve --workers 0 serves HTTP only)", commands: servers},
		{name: "first-attempt-wait", kind: kindDuration, def: "8s", help: "how long a request waits for the first delivery attempt", commands: serve},
		{name: "shutdown-timeout", kind: kindDuration, def: "20s", help: "how long in-flight sends may finish at shutdown", commands: servers},
		{name: AllowPrivateEndpoints, kind: kindBool, def: "false", commands: servers,
			help: "let connectors connect to loopback and private addresses (127.0.0.0/8, 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, 100.64.0.0/10, ::1, fc00::/7)"},
		{name: AllowEndpoints, kind: kindCIDRs, commands: servers,
			help: "comma-separated CIDRs (or IPs) connectors may connect to although they are loopback, private or special-purpose; link-local and cloud metadata addresses stay refused"},
		{name: PublicURL, kind: kindString, commands: serve,
			help: "the URL browsers and apps reach authmail at (http or https, no query); the OpenID Connect issuer is it + /oidc (default http:// + the listen address)"},
		{name: PwnedPasswordsURL, kind: kindString, def: "https://api.pwnedpasswords.com", commands: serve,
			help: "base URL of the Pwned Passwords range API the password policy's breach check asks (GET {url}/range/{5 hex digits}), through the outbound policy"},
		{name: DemoApp, kind: kindBool, def: "true", commands: serve,
			help: "serve the built-in demo application at /demo-app (client ID demo-app), which the console's \"Try sign-in\" signs in to with the saved sign-in experience"},
		{name: PublicRequestLimit, kind: kindInt, def: "300", commands: serve,
			help: "requests one client (an IPv6 client by its /64) may make to the public sign-in routes a minute, and as many to the OpenID Connect routes, counted in the database across processes; 0 turns the cap off"},
		{name: AppRequestLimit, kind: kindInt, def: "3000", commands: serve,
			help: "requests the sign-ins without redirects of one application (POST /api/experience/direct and the steps its interaction tokens make) may make a minute, on top of the cap per client, counted in the database across processes; 0 turns the cap off"},
	}
}

// EnvName is the environment variable of the setting whose flag is name:
// AUTHMAIL_ and the name in upper case, dashes as underscores.
func EnvName(name string) string {
	return "AUTHMAIL_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

// Default is the default of the setting whose flag is name, "" when it
// has none (or is no setting).
func Default(name string) string {
	for _, o := range options() {
		if o.name == name {
			return o.def
		}
	}
	return ""
}

// optionsOf returns the settings command cmd reads.
func optionsOf(cmd string) ([]option, bool) {
	var out []option
	for _, o := range options() {
		if slices.Contains(o.commands, cmd) {
			out = append(out, o)
		}
	}
	return out, len(out) > 0
}

// Parse reads the settings of command cmd (serve, worker or migrate) from
// args. Each setting the command reads comes from its flag, else its
// AUTHMAIL_* environment variable, else the YAML file named by --config
// (or AUTHMAIL_CONFIG), else its default; the settings it does not read
// keep their defaults. The flags are the command's own: a flag of another
// command is an error, while the file may hold every command's settings.
// On a flag mistake or -h, the usage (the command's flags with their
// kinds and defaults) goes to output; -h returns flag.ErrHelp.
func Parse(cmd string, args []string, getenv func(string) string, output io.Writer) (Settings, error) {
	var s Settings
	opts, ok := optionsOf(cmd)
	if !ok {
		return s, fmt.Errorf("no settings for command %q", cmd)
	}
	fs := flag.NewFlagSet("authmail "+cmd, flag.ContinueOnError)
	fs.SetOutput(output)
	configPath := fs.String("config", getenv(EnvName("config")), "YAML file of settings, keyed by flag name ("+EnvName("config")+")")
	// Every flag is read as text and converted below, after the layers
	// are merged, so that an error names the flag, variable or file line
	// the bad value came from; the usage text still shows its kind.
	kinds := map[string]string{"config": kindString}
	flags := map[string]*string{}
	for _, o := range opts {
		def := o.def
		if o.secret {
			def = "" // the usage text prints defaults; a database URL may hold a password
		}
		v := &textFlag{text: def, isBool: o.kind == kindBool}
		fs.Var(v, o.name, o.help+" ("+EnvName(o.name)+")")
		flags[o.name] = &v.text
		kinds[o.name] = o.kind
	}
	fs.Usage = func() {
		fmt.Fprintf(output, "usage: authmail %s [flags]\n\nflags (a flag beats its AUTHMAIL_* variable, which beats the --config file):\n", cmd)
		printFlags(output, fs, kinds)
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
		if file, err = readFile(*configPath, options()); err != nil {
			return s, err
		}
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	val, src := map[string]string{}, map[string]string{}
	for _, o := range options() {
		val[o.name], src[o.name] = o.def, "--"+o.name
	}
	for _, o := range opts {
		switch v := getenv(EnvName(o.name)); {
		case set[o.name]:
			val[o.name], src[o.name] = *flags[o.name], "--"+o.name
		case v != "":
			val[o.name], src[o.name] = v, EnvName(o.name)
		case file[o.name] != "":
			val[o.name], src[o.name] = file[o.name], o.name+" in "+*configPath
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
	if s.AllowPrivateEndpoints, err = strconv.ParseBool(val[AllowPrivateEndpoints]); err != nil {
		return s, fmt.Errorf("%s must be true or false, not %q", src[AllowPrivateEndpoints], val[AllowPrivateEndpoints])
	}
	if s.AllowEndpoints, err = ParsePrefixes(val[AllowEndpoints]); err != nil {
		return s, fmt.Errorf("%s: %w", src[AllowEndpoints], err)
	}
	if s.PublicURL, err = ParsePublicURL(val[PublicURL]); err != nil {
		return s, fmt.Errorf("%s %w", src[PublicURL], err)
	}
	if s.PwnedPasswordsURL, err = parseServiceURL(val[PwnedPasswordsURL]); err != nil {
		return s, fmt.Errorf("%s %w", src[PwnedPasswordsURL], err)
	}
	if s.PublicRequestLimit, err = strconv.Atoi(val[PublicRequestLimit]); err != nil {
		return s, fmt.Errorf("%s must be a number, not %q", src[PublicRequestLimit], val[PublicRequestLimit])
	}
	if s.AppRequestLimit, err = strconv.Atoi(val[AppRequestLimit]); err != nil {
		return s, fmt.Errorf("%s must be a number, not %q", src[AppRequestLimit], val[AppRequestLimit])
	}
	demo, err := strconv.ParseBool(val[DemoApp])
	if err != nil {
		return s, fmt.Errorf("%s must be true or false, not %q", src[DemoApp], val[DemoApp])
	}
	s.NoDemoApp = !demo
	return s, s.validate(src)
}

// ParsePrefixes reads a comma-separated list of CIDRs, the form of
// --allow-endpoints; a bare IP is a prefix of its full length.
func ParsePrefixes(list string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, item := range strings.Split(list, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		if ip, err := netip.ParseAddr(item); err == nil {
			out = append(out, netip.PrefixFrom(ip, ip.BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(item)
		if err != nil {
			return nil, fmt.Errorf("%q is not a CIDR such as 10.0.0.0/8 or an IP address", item)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// ParsePublicURL checks a public URL and returns it without its trailing
// slashes: it must be an absolute http or https URL with a host and no
// user, query or fragment. "" stays "" (the default). The error
// completes a sentence that starts with where the value came from.
func ParsePublicURL(raw string) (string, error) {
	if raw == "" {
		return "", nil
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Opaque != "":
		return "", fmt.Errorf("must be an absolute http or https URL such as https://auth.example.com, not %q", raw)
	case u.User != nil:
		return "", fmt.Errorf("must not hold a user name or password")
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(raw, "#"):
		return "", fmt.Errorf("must have no query or fragment: the OpenID Connect issuer is it + /oidc")
	}
	return strings.TrimRight(raw, "/"), nil
}

// parseServiceURL checks the base URL of an outside service: absolute
// http or https, no credentials, query or fragment; it is returned
// without its trailing slash.
func parseServiceURL(raw string) (string, error) {
	u, err := url.Parse(raw)
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Opaque != "":
		return "", fmt.Errorf("must be an absolute http or https URL, not %q", raw)
	case u.User != nil:
		return "", fmt.Errorf("must not hold a user name or password")
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(raw, "#"):
		return "", fmt.Errorf("must have no query or fragment")
	}
	return strings.TrimRight(raw, "/"), nil
}

// textFlag is a flag read as text, converted after the layers merge; a
// bool setting's flag may stand alone (--allow-private-endpoints).
type textFlag struct {
	text   string
	isBool bool
}

// String returns the text.
func (f *textFlag) String() string { return f.text }

// Set records the text.
func (f *textFlag) Set(v string) error {
	f.text = v
	return nil
}

// IsBoolFlag lets a bool setting's flag stand without a value.
func (f *textFlag) IsBoolFlag() bool { return f.isBool }

// printFlags prints fs's flags as flag.PrintDefaults does, naming each
// flag's kind from kinds (PrintDefaults would call them all strings).
func printFlags(w io.Writer, fs *flag.FlagSet, kinds map[string]string) {
	fs.VisitAll(func(f *flag.Flag) {
		var b strings.Builder
		fmt.Fprintf(&b, "  -%s %s\n    \t%s", f.Name, kinds[f.Name], strings.ReplaceAll(f.Usage, "\n", "\n    \t"))
		switch {
		case f.DefValue == "":
		case kinds[f.Name] == kindString:
			fmt.Fprintf(&b, " (default %q)", f.DefValue)
		default:
			fmt.Fprintf(&b, " (default %s)", f.DefValue)
		}
		fmt.Fprintln(w, b.String())
	})
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
	if s.PublicRequestLimit < 0 || s.PublicRequestLimit > 1000000 {
		return fmt.Errorf("%s must be from 0 to 1000000", src[PublicRequestLimit])
	}
	if s.AppRequestLimit < 0 || s.AppRequestLimit > 1000000 {
		return fmt.Errorf("%s must be from 0 to 1000000", src[AppRequestLimit])
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
