package mailgun

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/authmail/authmail/connector"
)

func runCheck(t *testing.T, b *backend) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return build(t, ID, b.Config()).Check(ctx)
}

// TestCheckAcceptsAccountAndSendingKeys: an account key passes by reading
// the domain, a domain sending key (which cannot read it) by the probe;
// neither sends a message.
func TestCheckAcceptsAccountAndSendingKeys(t *testing.T) {
	b := newBackend(t)
	if err := runCheck(t, b); err != nil {
		t.Fatalf("Check with an account key: %v", err)
	}
	b.extra["apiKey"] = testSendingKey
	if err := runCheck(t, b); err != nil {
		t.Fatalf("Check with a domain sending key: %v", err)
	}
	if n := len(b.Received()); n != 0 {
		t.Errorf("checks sent %d messages", n)
	}
}

// TestCheckRefusesAnUnknownKey: a key Mailgun refuses on both calls is
// ErrAuth, without the key in the error.
func TestCheckRefusesAnUnknownKey(t *testing.T) {
	b := newBackend(t)
	const wrong = "key-wrong-0000000000000000"
	b.extra["apiKey"] = wrong
	err := runCheck(t, b)
	if !errors.Is(err, connector.ErrAuth) {
		t.Fatalf("Check with an unknown key = %v, want ErrAuth", err)
	}
	if strings.Contains(err.Error(), wrong) {
		t.Errorf("error %q carries the key", err)
	}
}

// TestCheckNamesADomainTheAccountLacks: a 404 for the domain is a config
// error naming domain.
func TestCheckNamesADomainTheAccountLacks(t *testing.T) {
	b := newBackend(t)
	b.extra["domain"] = "mg.other.example"
	b.extra["from"] = "no-reply@mg.other.example"
	var ce *connector.ConfigError
	if err := runCheck(t, b); !errors.As(err, &ce) || ce.Field != "domain" {
		t.Fatalf("Check of a domain the account lacks = %v, want a config error naming domain", err)
	}
}
