package awsses

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/authmail/authmail/connector"
)

func runCheck(t *testing.T, b *sesBackend) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return build(t, b.Config(), testEnv()).Check(ctx)
}

// TestCheckSignsGetAccount: the right keys pass, a wrong secret is ErrAuth
// without the secret in the error, and nothing is sent.
func TestCheckSignsGetAccount(t *testing.T) {
	b := newSESBackend(t)
	if err := runCheck(t, b); err != nil {
		t.Fatalf("Check with the right keys: %v", err)
	}
	const wrong = "wJalrXUtnFEMI-wrong-secret-0000"
	b.extra = map[string]any{"accessKeySecret": wrong}
	err := runCheck(t, b)
	if !errors.Is(err, connector.ErrAuth) {
		t.Fatalf("Check with a wrong secret = %v, want ErrAuth", err)
	}
	if strings.Contains(err.Error(), wrong) {
		t.Errorf("error %q carries the secret", err)
	}
	if n := len(b.Received()); n != 0 {
		t.Errorf("checks sent %d messages", n)
	}
}

// TestCheckPassesASendOnlyPolicy: AccessDeniedException for GetAccount
// comes after AWS verified the signature, so the keys are proven.
func TestCheckPassesASendOnlyPolicy(t *testing.T) {
	b := newSESBackend(t)
	b.accountDenied = true
	if err := runCheck(t, b); err != nil {
		t.Fatalf("Check of keys that may not call GetAccount = %v, want nil", err)
	}
}

// TestCheckRefusesAnAccountWithSendingPaused: SES reporting sending
// disabled in the region is a permanent refusal naming the region.
func TestCheckRefusesAnAccountWithSendingPaused(t *testing.T) {
	b := newSESBackend(t)
	b.sendingPaused = true
	err := runCheck(t, b)
	if !errors.Is(err, connector.ErrRejected) || !strings.Contains(err.Error(), testRegion) {
		t.Fatalf("Check of a paused account = %v, want ErrRejected naming %s", err, testRegion)
	}
}
