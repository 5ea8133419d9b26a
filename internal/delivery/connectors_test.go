package delivery

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/authmail/authmail/connector"
	_ "github.com/authmail/authmail/connectors/httpemail"
)

// TestBuildErrorHidesSecrets: a config whose secret field fails the
// factory's schema (here a pattern, whose message quotes the value) is
// refused with an error that names the field but not the secret, because
// the error reaches the API response, the message log and the logs.
func TestBuildErrorHidesSecrets(t *testing.T) {
	const secret = "TopSecretSigningKey-HalfMoonBay-42"
	c := NewConnectors(nil, nil, slog.New(slog.DiscardHandler), time.Now, Network{})
	raw, _ := json.Marshal(map[string]any{"endpoint": "https://hooks.example.com/email", "signingSecret": secret})
	_, err := c.Build(context.Background(), "default", "http-email", raw)
	if err == nil {
		t.Fatal("a signing secret without whsec_ was accepted")
	}
	if strings.Contains(err.Error(), secret) {
		t.Fatalf("the error shows the secret: %v", err)
	}
	var ce *connector.ConfigError
	if !errors.As(err, &ce) || ce.Field != "signingSecret" || !errors.Is(err, connector.ErrInvalidConfig) {
		t.Fatalf("error = %#v, want a ConfigError for signingSecret", err)
	}
}
