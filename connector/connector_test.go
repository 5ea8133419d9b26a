package connector_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/authmail/authmail/connector"
)

type nopConn struct{}

func (nopConn) Send(context.Context, connector.Message) (connector.Receipt, error) {
	return connector.Receipt{}, nil
}

// testConfig is the config of the test-registry factory.
type testConfig struct {
	APIKey connector.Secret `json:"apiKey"`
	Nested struct {
		Port  int              `json:"port"`
		Token connector.Secret `json:"token"`
	} `json:"nested"`
	List []struct {
		Secret connector.Secret `json:"secret"`
	} `json:"list"`
}

func (*testConfig) Build(context.Context, connector.Env) (connector.Connector, error) {
	return nopConn{}, nil
}

func init() {
	connector.Register(connector.Factory{
		ID: "test-registry", Aliases: []string{"test-registry-alias"}, Name: "Test",
		ConfigSchema:      json.RawMessage(`{"type":"object","required":["apiKey"],"properties":{"apiKey":{"type":"string","minLength":1,"pattern":"^k"},"nested":{"type":"object","properties":{"port":{"type":"integer","maximum":65535}}}}}`),
		SecretFields:      []string{"apiKey", "nested.token", "list.secret"},
		DestinationFields: []string{"nested.port"},
		NewConfig:         func() connector.Config { return &testConfig{} },
	})
}

func TestRegistryLookupAndAliases(t *testing.T) {
	f, ok := connector.Lookup("test-registry-alias")
	if !ok || f.ID != "test-registry" {
		t.Fatalf("alias lookup = %v, %v", f.ID, ok)
	}
	if _, ok := connector.Lookup("nope"); ok {
		t.Fatal("unknown id found")
	}
	found := false
	for _, f := range connector.Factories() {
		found = found || f.ID == "test-registry"
	}
	if !found {
		t.Fatal("Factories does not list the registered factory")
	}
	defer func() {
		if recover() == nil {
			t.Fatal("registering a duplicate ID did not panic")
		}
	}()
	connector.Register(connector.Factory{ID: "test-registry-alias", NewConfig: func() connector.Config { return &testConfig{} }})
}

func TestBuildValidatesAgainstSchema(t *testing.T) {
	for _, tc := range []struct {
		raw, field string
	}{
		{`{}`, "apiKey"},
		{`{"apiKey":""}`, "apiKey"},
		{`{"apiKey":"k","nested":{"port":70000}}`, "nested.port"},
		{`[]`, ""},
		{`{"apiKey":`, ""},
	} {
		_, err := connector.Build(context.Background(), "test-registry", json.RawMessage(tc.raw), connector.Env{})
		var ce *connector.ConfigError
		if !errors.As(err, &ce) || !errors.Is(err, connector.ErrInvalidConfig) {
			t.Errorf("Build(%s) = %v, want a ConfigError", tc.raw, err)
			continue
		}
		if ce.Field != tc.field {
			t.Errorf("Build(%s) names %q, want %q", tc.raw, ce.Field, tc.field)
		}
	}
	for _, raw := range []string{`{"apiKey":"s3cret-value"}`} {
		_, err := connector.Build(context.Background(), "test-registry", json.RawMessage(raw), connector.Env{})
		if err == nil || strings.Contains(err.Error(), "s3cret-value") {
			t.Errorf("Build(%s) = %v: want an error that does not quote the value", raw, err)
		}
	}
	if _, err := connector.Build(context.Background(), "test-registry", json.RawMessage(`{"apiKey":"k"}`), connector.Env{}); err != nil {
		t.Fatalf("valid config: %v", err)
	}
	if _, err := connector.Build(context.Background(), "nope", nil, connector.Env{}); !errors.Is(err, connector.ErrUnknownFactory) {
		t.Fatalf("unknown factory: %v", err)
	}
}

func TestRedactSecretsKeepSecrets(t *testing.T) {
	f, _ := connector.Lookup("test-registry")
	raw := json.RawMessage(`{"apiKey":"sk-1","nested":{"token":"tok-2","port":1},"list":[{"secret":"s-3"},{"secret":""}],"plain":"x"}`)
	red := string(connector.Redact(f, raw))
	for _, sec := range []string{"sk-1", "tok-2", "s-3"} {
		if strings.Contains(red, sec) {
			t.Errorf("redacted config shows %q: %s", sec, red)
		}
	}
	if !strings.Contains(red, `"plain":"x"`) || !strings.Contains(red, `"port":1`) {
		t.Errorf("redaction dropped plain fields: %s", red)
	}
	if got := connector.Secrets(f, raw); len(got) != 3 {
		t.Errorf("Secrets = %v, want 3 values", got)
	}
	next, err := connector.KeepSecrets(f, connector.Redact(f, raw), raw)
	if err != nil {
		t.Fatal(err)
	}
	var a, b map[string]any
	_ = json.Unmarshal(next, &a)
	_ = json.Unmarshal(raw, &b)
	if fmt.Sprint(a) != fmt.Sprint(b) {
		t.Errorf("KeepSecrets = %s, want the original %s", next, raw)
	}
	changed, err := connector.KeepSecrets(f, json.RawMessage(`{"apiKey":"sk-new"}`), raw)
	if err != nil || !strings.Contains(string(changed), "sk-new") {
		t.Errorf("a new secret was not kept: %s", changed)
	}
}

func TestHTTPStatusErrorClasses(t *testing.T) {
	h := http.Header{}
	h.Set("Retry-After", "7")
	for _, tc := range []struct {
		status int
		want   error
	}{
		{401, connector.ErrAuth}, {403, connector.ErrAuth}, {400, connector.ErrRejected}, {422, connector.ErrRejected},
		{404, connector.ErrRejected}, {408, connector.ErrTemporary}, {429, connector.ErrRateLimited},
		{500, connector.ErrTemporary}, {503, connector.ErrTemporary},
	} {
		err := connector.HTTPStatusError(tc.status, h, []byte("key sk-live-123 is bad"), "", "", "sk-live-123")
		if !errors.Is(err, tc.want) {
			t.Errorf("status %d: %v, want %v", tc.status, err, tc.want)
		}
		if strings.Contains(err.Error(), "sk-live-123") {
			t.Errorf("status %d error shows the secret: %v", tc.status, err)
		}
		if tc.status == 429 && connector.RetryAfter(err) != 7*time.Second {
			t.Errorf("RetryAfter = %v", connector.RetryAfter(err))
		}
		wantTemp := tc.want == connector.ErrTemporary || tc.want == connector.ErrRateLimited
		if connector.Temporary(err) != wantTemp || connector.Permanent(err) == wantTemp {
			t.Errorf("status %d: Temporary = %v", tc.status, connector.Temporary(err))
		}
	}
	if !connector.Temporary(connector.NetworkError(errors.New("connection refused"))) {
		t.Error("a network error is not temporary")
	}
	if err := connector.NetworkError(context.Canceled); !errors.Is(err, context.Canceled) || connector.Temporary(err) {
		t.Errorf("cancellation = %v", err)
	}
}

func TestSnippetBoundsAndMasks(t *testing.T) {
	long := strings.Repeat("é", 1000)
	s := connector.Snippet(long)
	if len(s) > connector.SnippetLimit+len("…") {
		t.Fatalf("snippet is %d bytes", len(s))
	}
	if s := connector.Snippet("a\r\nb  c", ""); s != "a b c" {
		t.Errorf("Snippet folds whitespace to %q", s)
	}
}

func TestCheckEndpoint(t *testing.T) {
	for _, tc := range []struct {
		url string
		ok  bool
	}{
		{"https://api.example.com", true}, {"http://127.0.0.1:8080", true}, {"http://localhost", true},
		{"http://api.example.com", false}, {"ftp://x", false}, {"https://user:pw@x.com", false}, {"not a url", false},
	} {
		_, err := connector.CheckEndpoint("endpoint", tc.url, false)
		if (err == nil) != tc.ok {
			t.Errorf("CheckEndpoint(%q) = %v, want ok=%v", tc.url, err, tc.ok)
		}
	}
}

func TestAddressesAndHeaders(t *testing.T) {
	a, err := connector.ParseAddress("Équipe <team@example.com>")
	if err != nil || a.Name != "Équipe" || a.Email != "team@example.com" {
		t.Fatalf("ParseAddress = %+v, %v", a, err)
	}
	if s := a.String(); !strings.HasPrefix(s, "=?utf-8?") {
		t.Errorf("non-ASCII name not encoded: %q", s)
	}
	if got := connector.ParseSendFrom("Acme\r\nBcc: x@evil.com"); strings.ContainsAny(got.Name, "\r\n") {
		t.Errorf("ParseSendFrom kept a line break: %+v", got)
	}
	if got := connector.ResolveFrom(connector.Address{Name: "N"}, connector.Address{Email: "a@b.c"}); got.Email != "a@b.c" || got.Name != "N" {
		t.Errorf("ResolveFrom = %+v", got)
	}
}

func TestDurationAndDecode(t *testing.T) {
	var cfg struct {
		Timeout connector.Duration `json:"timeout"`
		Port    int                `json:"port"`
	}
	if err := connector.DecodeConfig(json.RawMessage(`{"timeout":1500}`), &cfg); err != nil || cfg.Timeout.Or(0) != 1500*time.Millisecond {
		t.Fatalf("ms duration = %v, %v", cfg.Timeout, err)
	}
	if err := connector.DecodeConfig(json.RawMessage(`{"timeout":"2s"}`), &cfg); err != nil || cfg.Timeout.Or(0) != 2*time.Second {
		t.Fatalf("string duration = %v, %v", cfg.Timeout, err)
	}
	for _, bad := range []string{`{"timeout":"soon"}`, `{"timeout":-5}`, `{"timeout":true}`} {
		var ce *connector.ConfigError
		if err := connector.DecodeConfig(json.RawMessage(bad), &cfg); !errors.As(err, &ce) || ce.Field != "timeout" {
			t.Errorf("DecodeConfig(%s) = %v, want an error naming timeout", bad, err)
		}
	}
	err := connector.DecodeConfig(json.RawMessage(`{"port":"x"}`), &cfg)
	var ce *connector.ConfigError
	if !errors.As(err, &ce) || ce.Field != "port" {
		t.Fatalf("type error = %v, want field port", err)
	}
	if s := connector.Secret("pw"); fmt.Sprint(s) != connector.Redacted || fmt.Sprintf("%#v", s) != connector.Redacted {
		t.Error("Secret prints its value")
	}
}

func TestConfigSenderAndAddress(t *testing.T) {
	a, err := connector.ConfigSender("fromEmail", "Acme <no-reply@acme.example>", "", "")
	if err != nil || a.Name != "Acme" || a.Email != "no-reply@acme.example" {
		t.Fatalf("ConfigSender = %+v, %v", a, err)
	}
	a, _ = connector.ConfigSender("fromEmail", "no-reply@acme.example", " Acme\r\n Auth ", "")
	if a.Name != "Acme Auth" {
		t.Errorf("the name field is not cleaned into the display name: %q", a.Name)
	}
	for _, tc := range []struct{ value, field string }{{"", "fromEmail"}, {"not an address", "fromEmail"}} {
		_, err := connector.ConfigSender("fromEmail", tc.value, "", "the verified sender")
		var ce *connector.ConfigError
		if !errors.As(err, &ce) || ce.Field != tc.field {
			t.Errorf("ConfigSender(%q) = %v, want an error naming %s", tc.value, err, tc.field)
		}
	}
	if a, err := connector.ConfigAddress("replyTo", " "); err != nil || a.Email != "" {
		t.Errorf("an empty optional address = %+v, %v", a, err)
	}
	if _, err := connector.ConfigAddress("replyTo", "nope"); !errors.Is(err, connector.ErrInvalidConfig) {
		t.Errorf("a bad optional address = %v", err)
	}
}

// TestDecodeConfigRefusesUndeclaredFields: a key the config type does not
// declare, at any depth and in any case but the declared one, is a
// ConfigError naming its path; map keys and self-decoding values are
// taken whole.
func TestDecodeConfigRefusesUndeclaredFields(t *testing.T) {
	type item struct {
		Name string `json:"name"`
	}
	type config struct {
		Host    string            `json:"host"`
		Items   []item            `json:"items"`
		Nested  *item             `json:"nested,omitempty"`
		Headers map[string]string `json:"headers"`
		Raw     json.RawMessage   `json:"raw"`
		Ignored connector.Unused  `json:"ignored"`
		Skipped string            `json:"-"`
	}
	for raw, field := range map[string]string{
		`{"hots":"x"}`: "hots",
		`{"Host":"x"}`: "Host",
		`{"host":"x","items":[{"name":"a"},{"nmae":"b"}]}`: "items.1.nmae",
		`{"nested":{"name":"a","extra":1}}`:                "nested.extra",
		`{"Skipped":"x"}`:                                  "Skipped",
		`{"-":"x"}`:                                        "-",
	} {
		var cfg config
		var ce *connector.ConfigError
		if err := connector.DecodeConfig(json.RawMessage(raw), &cfg); !errors.As(err, &ce) || ce.Field != field {
			t.Errorf("DecodeConfig(%s) = %v, want a ConfigError naming %s", raw, err, field)
		}
	}
	var cfg config
	ok := `{"host":"h","items":[{"name":"a"}],"headers":{"Any-Header":"v"},"raw":{"anything":[1]},"ignored":{"deep":true}}`
	if err := connector.DecodeConfig(json.RawMessage(ok), &cfg); err != nil || cfg.Host != "h" || cfg.Headers["Any-Header"] != "v" {
		t.Errorf("DecodeConfig(%s) = %v, %+v", ok, err, cfg)
	}
}

// TestBuildDecodesStrictlyAfterTheSchema: a field the schema allows but
// the config type does not declare is refused by Build, named.
func TestBuildDecodesStrictlyAfterTheSchema(t *testing.T) {
	_, err := connector.Build(context.Background(), "test-registry", json.RawMessage(`{"apiKey":"k","nested":{"prot":1}}`), connector.Env{})
	var ce *connector.ConfigError
	if !errors.As(err, &ce) || ce.Field != "nested.prot" {
		t.Fatalf("Build = %v, want a ConfigError naming nested.prot", err)
	}
	if _, err := connector.Build(context.Background(), "test-registry", json.RawMessage(`{"apiKey":"k","nested":{"port":1}}`), connector.Env{}); err != nil {
		t.Fatalf("Build of a valid config: %v", err)
	}
}

// TestDecodeConfigTakesOtherKeysWhereDeclared: a struct that embeds
// connector.OtherKeys takes keys it does not declare at its own level,
// and only there.
func TestDecodeConfigTakesOtherKeysWhereDeclared(t *testing.T) {
	type inner struct {
		Name string `json:"name"`
	}
	type config struct {
		connector.OtherKeys
		Host  string `json:"host"`
		Inner inner  `json:"inner"`
	}
	var cfg config
	if err := connector.DecodeConfig(json.RawMessage(`{"host":"h","pool":true,"inner":{"name":"n"}}`), &cfg); err != nil || cfg.Host != "h" || cfg.Inner.Name != "n" {
		t.Fatalf("DecodeConfig = %v, %+v; want the other key dropped", err, cfg)
	}
	var ce *connector.ConfigError
	if err := connector.DecodeConfig(json.RawMessage(`{"host":"h","inner":{"nmae":"n"}}`), &cfg); !errors.As(err, &ce) || ce.Field != "inner.nmae" {
		t.Fatalf("DecodeConfig of an unknown inner key = %v, want a ConfigError naming inner.nmae", err)
	}
}

// TestSchemaClosedToOtherKeysNamesTheKey: a key a closed schema level
// does not allow is named as the field at fault.
func TestSchemaClosedToOtherKeysNamesTheKey(t *testing.T) {
	connector.Register(connector.Factory{
		ID:           "test-closed-schema",
		ConfigSchema: json.RawMessage(`{"type":"object","properties":{"auth":{"type":"object","additionalProperties":false,"properties":{"user":{"type":"string"}}}}}`),
		NewConfig:    func() connector.Config { return &testConfig{} },
	})
	err := connector.ValidateSchema("test-closed-schema", json.RawMessage(`{"auth":{"user":"u","usr":"x","pss":"y"}}`))
	var ce *connector.ConfigError
	if !errors.As(err, &ce) || ce.Field != "auth.pss" || strings.Contains(ce.Reason, "x") {
		t.Fatalf("ValidateSchema = %v, want a ConfigError naming auth.pss", err)
	}
}

// openConfig takes keys it does not know, as a Logto-compatible config does.
type openConfig struct {
	connector.OtherKeys
	Host string `json:"host"`
}

func (*openConfig) Build(context.Context, connector.Env) (connector.Connector, error) {
	return nopConn{}, nil
}

// TestBuildLogsTheKeysItIgnores: the keys OtherKeys lets through are named
// in a warning, so a mistyped field does not vanish unseen.
func TestBuildLogsTheKeysItIgnores(t *testing.T) {
	connector.Register(connector.Factory{ID: "test-open-config", NewConfig: func() connector.Config { return &openConfig{} }})
	var logs strings.Builder
	env := connector.Env{Logger: slog.New(slog.NewTextHandler(&logs, nil))}
	if _, err := connector.Build(context.Background(), "test-open-config", json.RawMessage(`{"host":"h","hots":"x"}`), env); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "hots") {
		t.Errorf("logs = %q, want a warning naming hots", logs.String())
	}
}

// refusal is an error of a host's outbound policy: it matches
// ErrInvalidConfig.
type refusal struct{}

func (refusal) Error() string        { return "outbound policy refuses 10.0.0.1:25: it is a private address" }
func (refusal) Is(target error) bool { return target == connector.ErrInvalidConfig }

// TestNetworkErrorKeepsRefusalsPermanent: a transport error that carries
// a refused destination is an invalid config, not retried, and says the
// refusal once; other transport errors stay temporary.
func TestNetworkErrorKeepsRefusalsPermanent(t *testing.T) {
	dial := &net.OpError{Op: "dial", Net: "tcp", Err: refusal{}}
	err := connector.NetworkError(fmt.Errorf("posting to https://10.0.0.1/hook: %w", &url.Error{Op: "Post", URL: "https://10.0.0.1/hook", Err: dial}))
	if !errors.Is(err, connector.ErrInvalidConfig) || connector.Temporary(err) {
		t.Fatalf("NetworkError(refused) = %v: want an invalid config, not temporary", err)
	}
	if got, want := err.Error(), "invalid config: "+(refusal{}).Error(); got != want {
		t.Errorf("error text %q, want the refusal alone", got)
	}
	if err := connector.NetworkError(&net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}); !connector.Temporary(err) {
		t.Errorf("a refused connection is not temporary: %v", err)
	}
}
