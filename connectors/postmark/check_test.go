package postmark

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/authmail/authmail/connector"
)

// TestCheckReadsTheTokensServer: the configured token passes and sends
// nothing; a token Postmark does not know is ErrAuth, without the token
// in the error.
func TestCheckReadsTheTokensServer(t *testing.T) {
	b := newBackend(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := build(t, ID, b.Config()).Check(ctx); err != nil {
		t.Fatalf("Check with the server token: %v", err)
	}
	if n := len(b.Calls()); n != 0 {
		t.Errorf("a check made %d send calls", n)
	}
	const wrong = "00000000-wrong-token-0000"
	b.cfg["serverToken"] = wrong
	err := build(t, ID, b.Config()).Check(ctx)
	if !errors.Is(err, connector.ErrAuth) {
		t.Fatalf("Check with an unknown token = %v, want ErrAuth", err)
	}
	if strings.Contains(err.Error(), wrong) {
		t.Errorf("error %q carries the token", err)
	}
}
