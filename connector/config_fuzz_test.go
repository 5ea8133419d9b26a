package connector_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/authmail/authmail/connector"
)

// fuzzConfig has a field of every kind the built-in connectors' configs
// decode: strings, numbers, booleans, durations, addresses, nested
// objects, lists and maps.
type fuzzConfig struct {
	Host     string             `json:"host"`
	Port     int                `json:"port"`
	Secure   bool               `json:"secure"`
	Timeout  connector.Duration `json:"timeout"`
	From     connector.Address  `json:"from"`
	Auth     struct{ User, Pass string }
	Headers  map[string]string `json:"headers"`
	Ratio    float64           `json:"ratio"`
	Optional *int              `json:"optional"`
	Items    []struct {
		UsageType string          `json:"usageType"`
		Raw       json.RawMessage `json:"raw"`
	} `json:"templates"`
}

// FuzzDecodeConfig feeds any bytes to DecodeConfig: it never panics, and
// every refusal is a *ConfigError matching ErrInvalidConfig with a reason,
// which the API answers as connector.invalid_config (400). The seed
// corpus runs with every go test.
func FuzzDecodeConfig(f *testing.F) {
	for _, seed := range []string{
		``, `{}`, `null`, `[]`, `"x"`, `{"host":"smtp.example.com","port":587,"secure":true,"timeout":"10s"}`,
		`{"port":"twenty-five"}`, `{"port":1e99}`, `{"timeout":-1}`, `{"timeout":"soon"}`, `{"timeout":1.5}`,
		`{"from":"Acme <no-reply@example.com>"}`, `{"from":{"email":5}}`, `{"Auth":{"User":1}}`, `{"headers":{"a":1}}`,
		`{"templates":[{"usageType":"SignIn","raw":{"x":[1,2]}}]}`, `{"templates":{}}`, `{"optional":null}`, `{"host":`,
		`{"host":"a"} {"host":"b"}`, "\xff", `{"ratio":"NaN"}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		var cfg fuzzConfig
		err := connector.DecodeConfig(raw, &cfg)
		if err == nil {
			return
		}
		var ce *connector.ConfigError
		if !errors.As(err, &ce) || !errors.Is(err, connector.ErrInvalidConfig) || ce.Reason == "" {
			t.Fatalf("DecodeConfig(%q) = %#v, want a *ConfigError with a reason", raw, err)
		}
	})
}
