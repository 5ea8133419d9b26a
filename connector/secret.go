package connector

import (
	"encoding/json"
	"log/slog"
)

// Redacted is what a secret shows instead of its value.
const Redacted = "[redacted]"

// Secret is a config value that must never reach a log line or a response.
// It decodes from a JSON string; printing, logging or encoding it shows
// "[redacted]". Reveal returns the value for the one place that needs it.
type Secret string

// Reveal returns the secret's value.
func (s Secret) Reveal() string { return string(s) }

// String hides the value.
func (s Secret) String() string { return Redacted }

// GoString hides the value from %#v.
func (s Secret) GoString() string { return Redacted }

// LogValue hides the value from slog.
func (s Secret) LogValue() slog.Value { return slog.StringValue(Redacted) }

// MarshalJSON hides the value.
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(Redacted) }

// UnmarshalJSON reads the value from a JSON string.
func (s *Secret) UnmarshalJSON(b []byte) error {
	var v string
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*s = Secret(v)
	return nil
}
