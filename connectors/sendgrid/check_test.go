package sendgrid

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/authmail/authmail/connector"
)

func check(t *testing.T, b *backend, apiKey string) error {
	t.Helper()
	raw := b.Config()
	if apiKey != "" {
		raw = []byte(strings.Replace(string(raw), testKey, apiKey, 1))
	}
	c := build(t, ID, raw)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return c.Check(ctx)
}

// TestCheckReadsTheKeysScopes: a key with mail.send passes, an unknown key
// is ErrAuth without the key in the error, and nothing is sent.
func TestCheckReadsTheKeysScopes(t *testing.T) {
	b := newBackend(t)
	if err := check(t, b, ""); err != nil {
		t.Fatalf("Check with a key holding mail.send: %v", err)
	}
	const wrong = "SG.wrong-key-fedcba9876543210"
	err := check(t, b, wrong)
	if !errors.Is(err, connector.ErrAuth) {
		t.Fatalf("Check with an unknown key = %v, want ErrAuth", err)
	}
	if strings.Contains(err.Error(), wrong) {
		t.Errorf("error %q carries the key", err)
	}
	if n := len(b.Requests()); n != 0 {
		t.Errorf("a check made %d Mail Send requests", n)
	}
}

// TestCheckRefusesAKeyWithoutMailSend: a valid key that cannot send is
// ErrAuth naming the missing permission.
func TestCheckRefusesAKeyWithoutMailSend(t *testing.T) {
	b := newBackend(t)
	b.scopes = []string{"stats.read", "templates.read"}
	err := check(t, b, "")
	if !errors.Is(err, connector.ErrAuth) || !strings.Contains(err.Error(), "mail.send") {
		t.Fatalf("Check with a key lacking mail.send = %v, want ErrAuth naming mail.send", err)
	}
}

// TestCheckTakesAForbiddenScopesReadAsProof: SendGrid answers 403 to a
// key it knows but will not list the scopes of; that proves the key.
func TestCheckTakesAForbiddenScopesReadAsProof(t *testing.T) {
	b := newBackend(t)
	b.scopesForbidden = true
	if err := check(t, b, ""); err != nil {
		t.Fatalf("Check answered 403 = %v, want nil", err)
	}
}

// TestCheckHonoursTheEndpoint: the read goes to the configured endpoint
// (an EU subuser's, a proxy's prefix).
func TestCheckHonoursTheEndpoint(t *testing.T) {
	b := newBackend(t)
	b.prefix = "/proxy"
	if err := check(t, b, ""); err != nil {
		t.Fatalf("Check through a prefixed endpoint: %v", err)
	}
}
