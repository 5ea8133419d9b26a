package store_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/authmail/authmail/internal/store"
)

func TestOIDC(t *testing.T) {
	ctx := context.Background()
	newRequest := func(t *testing.T, w store.Writer, id string, now time.Time) {
		t.Helper()
		if err := w.OIDCAuthRequestInsert(ctx, store.OIDCAuthRequest{TenantID: "default", ID: id, ClientID: "app",
			Request: `{"redirect_uri":"https://app.example.com/cb"}`, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}

	run(t, "AnAuthRequestIsSignedInForOnceAndGetsOneCodeUsedOnce", func(t *testing.T, s *store.Store) {
		now := testNow()
		w := s.WriteQ()
		newRequest(t, w, "ar1", now)
		if err := w.OIDCAuthRequestSetCode(ctx, "default", "ar1", "code1", now.Add(time.Minute), now); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("a code before the sign-in: %v, want ErrNotFound", err)
		}
		if err := w.OIDCAuthRequestSignIn(ctx, "default", "ar1", "u1", now, "pwd otp", now); err != nil {
			t.Fatal(err)
		}
		if err := w.OIDCAuthRequestSignIn(ctx, "default", "ar1", "u2", now, "pwd", now); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("a second sign-in: %v, want ErrNotFound", err)
		}
		if err := w.OIDCAuthRequestSetCode(ctx, "default", "ar1", "code1", now.Add(time.Minute), now); err != nil {
			t.Fatal(err)
		}
		if err := w.OIDCAuthRequestSetCode(ctx, "default", "ar1", "code2", now.Add(time.Minute), now); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("a second code: %v, want ErrNotFound", err)
		}
		got, err := w.OIDCCodeUse(ctx, "default", "code1", now)
		if err != nil || got.UserID != "u1" || got.AMR != "pwd otp" || !got.AuthTime.Equal(now) || got.ClientID != "app" ||
			got.Request != `{"redirect_uri":"https://app.example.com/cb"}` || !got.CodeUsedAt.Equal(now) {
			t.Fatalf("using the code: %+v, %v", got, err)
		}
		if _, err := w.OIDCCodeUse(ctx, "default", "code1", now); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("using the code again: %v, want ErrNotFound", err)
		}
		if used, err := s.OIDCAuthRequestByCode(ctx, "default", "code1"); err != nil || used.CodeUsedAt.IsZero() {
			t.Errorf("the used code's request: %+v, %v; want it kept and marked used", used, err)
		}
		if _, err := w.OIDCCodeUse(ctx, "other", "code1", now); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("another tenant's code: %v, want ErrNotFound", err)
		}
	})

	run(t, "ExpiredRequestsAndCodesAreRefused", func(t *testing.T, s *store.Store) {
		now := testNow()
		w := s.WriteQ()
		newRequest(t, w, "ar1", now)
		if err := w.OIDCAuthRequestSignIn(ctx, "default", "ar1", "u1", now, "", now.Add(time.Hour)); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("signing in for an expired request: %v, want ErrNotFound", err)
		}
		if err := w.OIDCAuthRequestSignIn(ctx, "default", "ar1", "u1", now, "", now); err != nil {
			t.Fatal(err)
		}
		if err := w.OIDCAuthRequestSetCode(ctx, "default", "ar1", "code1", now.Add(time.Minute), now); err != nil {
			t.Fatal(err)
		}
		if _, err := w.OIDCCodeUse(ctx, "default", "code1", now.Add(time.Minute)); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("using an expired code: %v, want ErrNotFound", err)
		}
		if _, err := w.OIDCCodeUse(ctx, "default", "code1", now.Add(59*time.Second)); err != nil {
			t.Errorf("using the code before it expires: %v", err)
		}
	})

	run(t, "OfTwoExchangesOfOneCodeOneWins", func(t *testing.T, s *store.Store) {
		now := testNow()
		w := s.WriteQ()
		newRequest(t, w, "ar1", now)
		if err := w.OIDCAuthRequestSignIn(ctx, "default", "ar1", "u1", now, "", now); err != nil {
			t.Fatal(err)
		}
		if err := w.OIDCAuthRequestSetCode(ctx, "default", "ar1", "code1", now.Add(time.Minute), now); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make([]error, 8)
		for i := range errs {
			wg.Go(func() { _, errs[i] = s.WriteQ().OIDCCodeUse(ctx, "default", "code1", now) })
		}
		wg.Wait()
		won := 0
		for _, err := range errs {
			switch {
			case err == nil:
				won++
			case !errors.Is(err, store.ErrNotFound):
				t.Errorf("an exchange failed otherwise: %v", err)
			}
		}
		if won != 1 {
			t.Errorf("%d exchanges of one code succeeded, want 1", won)
		}
	})

	run(t, "ARefreshTokenRotatesOnceAndItsFamilyIsRevokedTogether", func(t *testing.T, s *store.Store) {
		now := testNow()
		w := s.WriteQ()
		rt := store.OIDCRefreshToken{TenantID: "default", ID: "rt1", TokenHash: "h1", FamilyID: "ar1", ClientID: "app", Subject: "u1",
			Scopes: "openid offline_access", Resources: "https://api.example.com", AuthTime: now, AMR: "otp",
			CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
		if err := w.OIDCRefreshTokenInsert(ctx, rt); err != nil {
			t.Fatal(err)
		}
		got, err := s.OIDCRefreshTokenByHash(ctx, "default", "h1")
		if err != nil || got != rt {
			t.Fatalf("read back: %+v, %v; want %+v", got, err, rt)
		}
		if got, err := s.OIDCRefreshTokenByID(ctx, "default", "rt1"); err != nil || got != rt {
			t.Fatalf("read back by ID: %+v, %v; want %+v", got, err, rt)
		}
		if err := w.OIDCRefreshTokenUse(ctx, "default", "rt1", now.Add(time.Hour)); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("using an expired token: %v, want ErrNotFound", err)
		}
		if err := w.OIDCRefreshTokenUse(ctx, "default", "rt1", now); err != nil {
			t.Fatal(err)
		}
		if err := w.OIDCRefreshTokenUse(ctx, "default", "rt1", now); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("using a used token: %v, want ErrNotFound", err)
		}
		next := rt
		next.ID, next.TokenHash = "rt2", "h2"
		at := store.OIDCAccessToken{TenantID: "default", ID: "at1", FamilyID: "ar1", ClientID: "app", Subject: "u1",
			Scopes: "openid", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
		other := at
		other.ID, other.FamilyID = "at2", "ar2"
		for _, err := range []error{w.OIDCRefreshTokenInsert(ctx, next), w.OIDCAccessTokenInsert(ctx, at), w.OIDCAccessTokenInsert(ctx, other)} {
			if err != nil {
				t.Fatal(err)
			}
		}
		if got, err := s.OIDCAccessTokenGet(ctx, "default", "at1"); err != nil || got != at {
			t.Fatalf("access token read back: %+v, %v; want %+v", got, err, at)
		}
		later := now.Add(time.Second)
		if err := w.OIDCRevokeFamily(ctx, "default", "ar1", later); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.OIDCRefreshTokenByHash(ctx, "default", "h2"); !got.RevokedAt.Equal(later) {
			t.Errorf("the family's live refresh token: revoked at %v, want %v", got.RevokedAt, later)
		}
		if err := w.OIDCRefreshTokenUse(ctx, "default", "rt2", later); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("using a revoked token: %v, want ErrNotFound", err)
		}
		if got, _ := s.OIDCAccessTokenGet(ctx, "default", "at1"); !got.RevokedAt.Equal(later) {
			t.Errorf("the family's access token: revoked at %v, want %v", got.RevokedAt, later)
		}
		if got, _ := s.OIDCAccessTokenGet(ctx, "default", "at2"); !got.RevokedAt.IsZero() {
			t.Errorf("another family's access token was revoked at %v", got.RevokedAt)
		}
		if err := w.OIDCAccessTokenRevoke(ctx, "default", "at2", later); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.OIDCAccessTokenGet(ctx, "default", "at2"); !got.RevokedAt.Equal(later) {
			t.Errorf("the revoked access token: revoked at %v, want %v", got.RevokedAt, later)
		}
	})

	run(t, "PurgeDeletesWhatExpired", func(t *testing.T, s *store.Store) {
		now := testNow()
		w := s.WriteQ()
		newRequest(t, w, "live", now)
		newRequest(t, w, "old", now.Add(-2*time.Hour))
		for _, tok := range []store.OIDCAccessToken{
			{TenantID: "default", ID: "live", CreatedAt: now, ExpiresAt: now.Add(time.Hour)},
			{TenantID: "default", ID: "old", CreatedAt: now, ExpiresAt: now.Add(-time.Second)},
		} {
			if err := w.OIDCAccessTokenInsert(ctx, tok); err != nil {
				t.Fatal(err)
			}
		}
		for _, tok := range []store.OIDCRefreshToken{
			{TenantID: "default", ID: "live", TokenHash: "live", CreatedAt: now, ExpiresAt: now.Add(time.Hour)},
			{TenantID: "default", ID: "old", TokenHash: "old", CreatedAt: now, ExpiresAt: now.Add(-time.Second)},
		} {
			if err := w.OIDCRefreshTokenInsert(ctx, tok); err != nil {
				t.Fatal(err)
			}
		}
		r, err := w.Purge(ctx, now, time.Hour, time.Hour)
		if err != nil || r.OIDC != 3 {
			t.Fatalf("purge = %+v, %v; want the 3 expired rows", r, err)
		}
		if _, err := s.OIDCAuthRequestGet(ctx, "default", "live"); err != nil {
			t.Errorf("the live request: %v", err)
		}
		if _, err := s.OIDCAccessTokenGet(ctx, "default", "live"); err != nil {
			t.Errorf("the live access token: %v", err)
		}
		if _, err := s.OIDCRefreshTokenByHash(ctx, "default", "live"); err != nil {
			t.Errorf("the live refresh token: %v", err)
		}
	})

	run(t, "AUserKeepsWhetherTheEmailIsVerified", func(t *testing.T, s *store.Store) {
		now := testNow()
		u := testUser("u1", "bob@example.com", "bob", now)
		u.EmailVerified = true
		if err := s.WriteQ().UserInsert(ctx, u); err != nil {
			t.Fatal(err)
		}
		if got, err := s.UserGet(ctx, "default", "u1"); err != nil || !got.EmailVerified {
			t.Fatalf("read back: %+v, %v; want the email verified", got, err)
		}
		u.EmailVerified = false
		if err := s.WriteQ().UserUpdate(ctx, u); err != nil {
			t.Fatal(err)
		}
		if got, err := s.UserGet(ctx, "default", "u1"); err != nil || got.EmailVerified {
			t.Fatalf("after the update: %+v, %v; want the email not verified", got, err)
		}
	})
}
