package aliyundm

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/authmail/authmail/connector"
)

func runCheck(t *testing.T, b *dmBackend) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return build(t, b.Config(), testEnv()).Check(ctx)
}

// TestCheckSignsQueryDomainByParam: the right keys pass and send nothing;
// a wrong secret is SignatureDoesNotMatch, ErrAuth, without the secret.
func TestCheckSignsQueryDomainByParam(t *testing.T) {
	b := newDMBackend(t)
	if err := runCheck(t, b); err != nil {
		t.Fatalf("Check with the right keys: %v", err)
	}
	const wrong = "WrongSecret-0000-0000"
	b.extra = map[string]any{"accessKeySecret": wrong}
	err := runCheck(t, b)
	if !errors.Is(err, connector.ErrAuth) || !strings.Contains(err.Error(), "SignatureDoesNotMatch") {
		t.Fatalf("Check with a wrong secret = %v, want ErrAuth [SignatureDoesNotMatch]", err)
	}
	if strings.Contains(err.Error(), wrong) {
		t.Errorf("error %q carries the secret", err)
	}
	if n := len(b.Received()); n != 0 {
		t.Errorf("checks sent %d messages", n)
	}
}

// TestCheckNamesASenderDomainTheRegionLacks: a sender whose domain is not
// set up in the region is a config error naming accountName.
func TestCheckNamesASenderDomainTheRegionLacks(t *testing.T) {
	b := newDMBackend(t)
	b.domains = []string{"mail.other.example"}
	var ce *connector.ConfigError
	if err := runCheck(t, b); !errors.As(err, &ce) || ce.Field != "accountName" {
		t.Fatalf("Check of a domain the region lacks = %v, want a config error naming accountName", err)
	}
}

// TestCheckPassesARAMUserAllowedOnlyToSend: Forbidden.RAM comes after the
// signature was verified, so the keys are proven.
func TestCheckPassesARAMUserAllowedOnlyToSend(t *testing.T) {
	b := newDMBackend(t)
	b.ramDenied = true
	if err := runCheck(t, b); err != nil {
		t.Fatalf("Check of a send-only RAM user = %v, want nil", err)
	}
}
