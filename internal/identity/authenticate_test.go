package identity

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/authmail/authmail/internal/address"
	"github.com/authmail/authmail/internal/password"
	"github.com/authmail/authmail/internal/store"
	"github.com/authmail/authmail/internal/store/storetest"
)

// TestTheDummyDigestCostsWhatARealOneDoes: the digest checked for an
// account without a password has DefaultParams, the parameters of every
// digest Hash makes, and no password matches it.
func TestTheDummyDigestCostsWhatARealOneDoes(t *testing.T) {
	p, err := DigestParams(dummyDigest())
	if err != nil {
		t.Fatalf("the dummy digest does not parse: %v", err)
	}
	if p != DefaultParams {
		t.Errorf("the dummy digest's parameters are %+v, Hash's are %+v", p, DefaultParams)
	}
	real, err := DigestParams(Hash("correct horse battery"))
	if err != nil || real != p {
		t.Errorf("a real digest has %+v (%v), the dummy %+v", real, err, p)
	}
	for _, pw := range []string{"", "correct horse battery"} {
		if ok, err := Verify(dummyDigest(), pw); ok || err != nil {
			t.Errorf("Verify(dummy, %q) = %v, %v; want false", pw, ok, err)
		}
	}
}

func newTestService(t testing.TB, s *store.Store) *Service {
	return New(s, func() time.Time { return time.Now().UTC() }, password.NewChecker(http.DefaultClient, ""))
}

func mustAddress(t testing.TB, s string) address.Address {
	a, err := address.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestAuthenticateGivesOneAnswerForEveryFailure: an unknown address, a
// user without a password and a wrong password are all
// ErrInvalidCredentials; the right password returns the user, found by
// any spelling of the address.
func TestAuthenticateGivesOneAnswerForEveryFailure(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		s := newTestService(t, st)
		withPw, err := s.Create(ctx, "default", NewUser{PrimaryEmail: "ann@example.com", Password: "correct horse battery"}, password.DefaultPolicy())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Create(ctx, "default", NewUser{PrimaryEmail: "bob@example.com"}, password.DefaultPolicy()); err != nil {
			t.Fatal(err)
		}
		for name, c := range map[string]struct{ email, pw string }{
			"unknown address": {"nobody@example.com", "correct horse battery"},
			"no password":     {"bob@example.com", "correct horse battery"},
			"wrong password":  {"ann@example.com", "correct horse batterY"},
		} {
			if _, err := s.Authenticate(ctx, "default", mustAddress(t, c.email), c.pw); !errors.Is(err, ErrInvalidCredentials) {
				t.Errorf("%s: err = %v, want ErrInvalidCredentials", name, err)
			}
		}
		u, err := s.Authenticate(ctx, "default", mustAddress(t, "Ann@EXAMPLE.com"), "correct horse battery")
		if err != nil || u.ID != withPw.ID {
			t.Errorf("the right password: %+v, %v; want %s", u, err, withPw.ID)
		}
	})
}

// BenchmarkAuthenticate compares the failures an attacker could tell apart
// by time: each runs one argon2id check at DefaultParams and one user
// lookup.
func BenchmarkAuthenticate(b *testing.B) {
	st := storetest.SQLite(b)
	ctx := context.Background()
	s := newTestService(b, st)
	if _, err := s.Create(ctx, "default", NewUser{PrimaryEmail: "ann@example.com", Password: "correct horse battery"}, password.DefaultPolicy()); err != nil {
		b.Fatal(err)
	}
	if _, err := s.Create(ctx, "default", NewUser{PrimaryEmail: "bob@example.com"}, password.DefaultPolicy()); err != nil {
		b.Fatal(err)
	}
	for name, email := range map[string]string{"WrongPassword": "ann@example.com", "NoPassword": "bob@example.com", "UnknownAddress": "nobody@example.com"} {
		to := mustAddress(b, email)
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				if _, err := s.Authenticate(ctx, "default", to, "not the password"); !errors.Is(err, ErrInvalidCredentials) {
					b.Fatal(err)
				}
			}
		})
	}
}
