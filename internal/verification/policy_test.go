package verification_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/authmail/authmail/internal/keyring"
	"github.com/authmail/authmail/internal/store"
	"github.com/authmail/authmail/internal/store/storetest"
	"github.com/authmail/authmail/internal/verification"
)

// noCooldown is the default policy with the resend cooldown off.
func noCooldown() verification.Policy {
	p := verification.DefaultPolicy()
	p.ResendCooldown = 0
	return p
}

// lockoutAfter is the default policy with a lockout after n failures.
func lockoutAfter(n int) verification.Policy {
	p := verification.DefaultPolicy()
	p.LockoutFailures = n
	return p
}

// withField returns the default policy with the field of that JSON name
// set to v, through the policy's JSON form.
func withField(t *testing.T, name string, v int) verification.Policy {
	t.Helper()
	b, err := json.Marshal(verification.DefaultPolicy())
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if _, ok := m[name]; !ok {
		t.Fatalf("the policy's JSON has no field %q: %s", name, b)
	}
	m[name] = v
	b, _ = json.Marshal(m)
	var p verification.Policy
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestDefaultPolicyHoldsEachFieldsDeclaredDefault: every field is
// described, appears in the JSON form under its name with its default,
// and the defaults are valid.
func TestDefaultPolicyHoldsEachFieldsDeclaredDefault(t *testing.T) {
	def := verification.DefaultPolicy()
	if err := def.Validate(); err != nil {
		t.Fatalf("the default policy fails validation: %v", err)
	}
	b, _ := json.Marshal(def)
	var m map[string]int
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	fields := verification.PolicyFields()
	if len(fields) != len(m) {
		t.Errorf("%d fields described, %d in the JSON form %s", len(fields), len(m), b)
	}
	for _, f := range fields {
		if got, ok := m[f.Name]; !ok || got != f.Default {
			t.Errorf("%s in the default policy's JSON = %d (present %v), want its default %d", f.Name, got, ok, f.Default)
		}
	}
	if def.ResendCooldown != 60 || def.Length != 6 || def.TTL() != 10*time.Minute {
		t.Errorf("default policy %+v, want 6 digits, 600 s and a 60 s cooldown as documented", def)
	}
}

// TestValidateChecksEveryFieldsRange: for every field, its bounds pass and
// one past either bound fails with a PolicyError naming the field.
func TestValidateChecksEveryFieldsRange(t *testing.T) {
	for _, f := range verification.PolicyFields() {
		t.Run(f.Name, func(t *testing.T) {
			for _, v := range []int{f.Min, f.Max} {
				if err := withField(t, f.Name, v).Validate(); err != nil {
					t.Errorf("%s = %d (a bound) refused: %v", f.Name, v, err)
				}
			}
			for _, v := range []int{f.Min - 1, f.Max + 1, -1} {
				if v >= f.Min && v <= f.Max {
					continue // -1 is in the range of this field
				}
				var pe *verification.PolicyError
				if err := withField(t, f.Name, v).Validate(); !errors.As(err, &pe) || pe.Field != f.Name || pe.Value != v {
					t.Errorf("%s = %d: Validate = %v, want a PolicyError on %s", f.Name, v, err, f.Name)
				}
			}
		})
	}
}

// TestIssueRefusesAPolicyOutOfRange: a policy that is not filled in (the
// zero value) is an error, not a code of zero digits.
func TestIssueRefusesAPolicyOutOfRange(t *testing.T) {
	st := storetest.SQLite(t)
	keys, _ := keyring.New(keyring.RandomBytes(keyring.KeySize))
	b := bundle{st: st, svc: verification.New(keys, time.Now), clock: &clock{t: time.Now()}}
	var pe *verification.PolicyError
	if _, err := issue(t, b, "zero@example.com", verification.Policy{}); !errors.As(err, &pe) {
		t.Fatalf("Issue with the zero policy = %v, want a PolicyError", err)
	}
	if _, err := st.CodeGet(context.Background(), "default", "zero@example.com", "Generic"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the refused issue stored a code: %v", err)
	}
}

// TestResendCooldownZeroTurnsItOff: with the cooldown at 0, a second code
// right after the first is issued.
func TestResendCooldownZeroTurnsItOff(t *testing.T) {
	st := storetest.SQLite(t)
	keys, _ := keyring.New(keyring.RandomBytes(keyring.KeySize))
	b := bundle{st: st, svc: verification.New(keys, time.Now), clock: &clock{t: time.Now()}}
	for i := range 2 {
		if _, err := issue(t, b, "eager@example.com", noCooldown()); err != nil {
			t.Fatalf("send %d with the cooldown off: %v", i+1, err)
		}
	}
	if _, err := issue(t, b, "eager@example.com", verification.DefaultPolicy()); !errors.Is(err, verification.ErrResendTooSoon) {
		t.Fatalf("send with the default cooldown right after: %v, want resend_too_soon", err)
	}
}
