package standard_test

import (
	"context"
	"errors"
	"io"
	"testing"

	"github.com/authmail/authmail/connector"
	"github.com/authmail/authmail/connector/connectortest"
)

// FuzzBuild feeds any config to every built-in factory: Build (the schema,
// then the connector's own strict decoding and checks) never panics, and
// every refusal matches ErrInvalidConfig as a *ConfigError, which the API
// answers as connector.invalid_config (400), never as a 500. The seed
// corpus (each factory's config template, and malformed configs) runs
// with every go test.
func FuzzBuild(f *testing.F) {
	fs := connector.Factories()
	if len(fs) == 0 {
		f.Fatal("connectors/standard registers no connector")
	}
	for _, fa := range fs {
		if len(fa.DefaultConfig) > 0 {
			f.Add([]byte(fa.DefaultConfig))
		}
	}
	for _, seed := range []string{
		``, `{}`, `null`, `[]`, `"x"`, `{"host":"127.0.0.1","port":25,"fromEmail":"a@example.com"}`,
		`{"endpoint":"https://mail.example.com/hook","timeout":"10s"}`, `{"endpoint":"http://[::1"}`, `{"timeout":-5}`,
		`{"apiKey":"k","fromEmail":"a@example.com","templates":[{"usageType":"Nope"}]}`, `{"region":"../../x"}`,
		`{"port":65536}`, `{"dkim":{"domain":"example.com","selector":"s","privateKey":"-----BEGIN PRIVATE KEY-----"}}`,
		`{"headers":{"Authorization":"x"}}`, "{\"fromEmail\":\"a@example.com\r\nBcc: b@example.com\"}",
	} {
		f.Add([]byte(seed))
	}
	env := connectortest.Env(io.Discard)
	env.Inbox = discardInbox{}
	f.Fuzz(func(t *testing.T, raw []byte) {
		for _, fa := range fs {
			c, err := connector.Build(context.Background(), fa.ID, raw, env)
			if err == nil {
				if cl, ok := c.(io.Closer); ok {
					_ = cl.Close()
				}
				continue
			}
			var ce *connector.ConfigError
			if !errors.As(err, &ce) || !errors.Is(err, connector.ErrInvalidConfig) || ce.Reason == "" {
				t.Fatalf("%s: Build(%q) = %#v, want a *ConfigError with a reason", fa.ID, raw, err)
			}
		}
	})
}

// discardInbox is a dev inbox store that keeps nothing; Build only needs
// one to be there.
type discardInbox struct{}

func (discardInbox) Store(context.Context, connector.Message) (string, error) { return "", nil }
