package delivery

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/authmail/authmail/connector"
)

// TestMaskErrorLeavesNoSecretReachable: after masking, neither the text nor
// anything errors.As or Unwrap can reach shows a secret, and the class is kept.
func TestMaskErrorLeavesNoSecretReachable(t *testing.T) {
	const secret = "sk-live-123"
	reachable := func(err error) string {
		var b strings.Builder
		for e := err; e != nil; e = errors.Unwrap(e) {
			b.WriteString(e.Error())
		}
		var ce *connector.Error
		if errors.As(err, &ce) {
			b.WriteString(ce.Message)
		}
		return b.String()
	}
	for _, tc := range []struct {
		name string
		err  error
		want error
	}{
		{"SendError", &connector.Error{Kind: connector.ErrRejected, Status: 400, Message: "bad key " + secret, Err: fmt.Errorf("body: %s", secret)}, connector.ErrRejected},
		{"ConfigError", connector.InvalidConfig("apiKey", "%s does not match", secret), connector.ErrInvalidConfig},
		{"Plain", fmt.Errorf("dial %s: %w", secret, connector.ErrTemporary), connector.ErrTemporary},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := maskError(tc.err, []string{secret})
			if strings.Contains(reachable(got), secret) {
				t.Errorf("masked error still reaches the secret: %q", reachable(got))
			}
			if !errors.Is(got, tc.want) {
				t.Errorf("masked error lost its class %v: %v", tc.want, got)
			}
			if connector.Temporary(got) != connector.Temporary(tc.err) {
				t.Errorf("Temporary changed from %v", connector.Temporary(tc.err))
			}
		})
	}
}
