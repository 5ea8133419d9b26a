package connector_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/authmail/authmail/connector"
)

// TestKeepSecretsRefusesAConfigThatIsNotAnObject: a string, an array or
// null is refused as an invalid config instead of being taken for {}.
func TestKeepSecretsRefusesAConfigThatIsNotAnObject(t *testing.T) {
	f := connector.Factory{ID: "x", SecretFields: []string{"apiKey"}}
	for _, next := range []string{`"x"`, `[1]`, `null`, `7`} {
		if _, err := connector.KeepSecrets(f, json.RawMessage(next), json.RawMessage(`{"apiKey":"k"}`)); !errors.Is(err, connector.ErrInvalidConfig) {
			t.Errorf("KeepSecrets(%s) = %v, want an invalid config", next, err)
		}
	}
	if out, err := connector.KeepSecrets(f, json.RawMessage(`{"apiKey":"[redacted]"}`), json.RawMessage(`{"apiKey":"k"}`)); err != nil || !strings.Contains(string(out), `"k"`) {
		t.Errorf("an object with an echoed secret: %s, %v", out, err)
	}
}
