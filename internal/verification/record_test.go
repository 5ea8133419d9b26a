package verification_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authmail/authmail/internal/keyring"
	"github.com/authmail/authmail/internal/store"
	"github.com/authmail/authmail/internal/store/storetest"
	"github.com/authmail/authmail/internal/verification"
)

// verifiedRecord issues a code to email and verifies it into a record.
func verifiedRecord(t *testing.T, b bundle, email, usage string) verification.Record {
	t.Helper()
	ctx := context.Background()
	var code string
	err := b.st.InTx(ctx, func(tx *store.Tx) error {
		is, err := b.svc.Issue(ctx, tx, "default", addr(email), usage, "", verification.DefaultPolicy())
		code = is.Code
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	rec, err := b.svc.VerifyRecord(ctx, b.st, "default", addr(email), usage, code, "", verification.DefaultPolicy())
	if err != nil {
		t.Fatalf("verifying the right code: %v", err)
	}
	return rec
}

func consume(b bundle, id, usage string) (verification.Record, error) {
	var rec verification.Record
	err := b.st.InTx(context.Background(), func(tx *store.Tx) error {
		var err error
		rec, err = b.svc.Consume(context.Background(), tx, "default", id, usage)
		return err
	})
	return rec, err
}

func TestVerificationRecords(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, st *store.Store) {
		keys, _ := keyring.New(keyring.RandomBytes(keyring.KeySize))
		setup := func() bundle {
			c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
			return bundle{st: st, svc: verification.New(keys, c.Now), clock: c}
		}

		t.Run("AVerifiedCodeYieldsARecordForItsAddressAndUsage", func(t *testing.T) {
			b := setup()
			rec := verifiedRecord(t, b, "Rec@Example.com", "Register")
			if !strings.HasPrefix(rec.ID, "vr_") || len(rec.ID) < 32 {
				t.Fatalf("record ID %q is not a long random token", rec.ID)
			}
			got, err := consume(b, rec.ID, "Register")
			if err != nil {
				t.Fatalf("consuming: %v", err)
			}
			if got.Email != "rec@example.com" || got.Usage != "Register" || !got.ExpiresAt.Equal(b.clock.Now().Add(verification.RecordTTL)) {
				t.Fatalf("consumed %+v, want rec@example.com, Register, expiring after RecordTTL", got)
			}
		})

		t.Run("ARecordIsConsumedOnce", func(t *testing.T) {
			b := setup()
			rec := verifiedRecord(t, b, "once-rec@example.com", "SignIn")
			if _, err := consume(b, rec.ID, "SignIn"); err != nil {
				t.Fatal(err)
			}
			if _, err := consume(b, rec.ID, "SignIn"); !errors.Is(err, verification.ErrRecordNotFound) {
				t.Fatalf("second consumption: %v, want verification_record.not_found", err)
			}
		})

		t.Run("OfConcurrentStepsOnlyOneGetsTheRecord", func(t *testing.T) {
			b := setup()
			rec := verifiedRecord(t, b, "race-rec@example.com", "ForgotPassword")
			const steps = 8
			var wg sync.WaitGroup
			start := make(chan struct{})
			errs := make([]error, steps)
			for i := range steps {
				wg.Go(func() {
					<-start
					_, errs[i] = consume(b, rec.ID, "ForgotPassword")
				})
			}
			close(start)
			wg.Wait()
			won := 0
			for _, err := range errs {
				switch {
				case err == nil:
					won++
				case !errors.Is(err, verification.ErrRecordNotFound):
					t.Errorf("a losing step got %v, want verification_record.not_found", err)
				}
			}
			if won != 1 {
				t.Fatalf("%d of %d concurrent steps consumed one record, want exactly 1", won, steps)
			}
		})

		t.Run("ARecordIsBoundToItsUsageType", func(t *testing.T) {
			b := setup()
			rec := verifiedRecord(t, b, "usage-rec@example.com", "SignIn")
			if _, err := consume(b, rec.ID, "ForgotPassword"); !errors.Is(err, verification.ErrRecordNotFound) {
				t.Fatalf("a SignIn record consumed as ForgotPassword: %v", err)
			}
			if _, err := consume(b, rec.ID, "SignIn"); err != nil {
				t.Fatalf("the refused attempt used the record up: %v", err)
			}
		})

		t.Run("AnExpiredRecordIsRefused", func(t *testing.T) {
			b := setup()
			rec := verifiedRecord(t, b, "late-rec@example.com", "Register")
			b.clock.Add(verification.RecordTTL)
			if _, err := consume(b, rec.ID, "Register"); !errors.Is(err, verification.ErrRecordNotFound) {
				t.Fatalf("consuming at expiry: %v, want verification_record.not_found", err)
			}
		})

		t.Run("AWrongCodeYieldsNoRecord", func(t *testing.T) {
			b := setup()
			ctx := context.Background()
			if err := st.InTx(ctx, func(tx *store.Tx) error {
				_, err := b.svc.Issue(ctx, tx, "default", addr("wrong-rec@example.com"), "Register", "", verification.DefaultPolicy())
				return err
			}); err != nil {
				t.Fatal(err)
			}
			rec, err := b.svc.VerifyRecord(ctx, st, "default", addr("wrong-rec@example.com"), "Register", "not-the-code", "", verification.DefaultPolicy())
			if !errors.Is(err, verification.ErrMismatch) || rec.ID != "" {
				t.Fatalf("wrong code gave record %+v, err %v; want no record and code_mismatch", rec, err)
			}
		})

		t.Run("UnknownAndEmptyIDsAreRefused", func(t *testing.T) {
			b := setup()
			for _, id := range []string{"", "vr_doesnotexist"} {
				if _, err := consume(b, id, "Register"); !errors.Is(err, verification.ErrRecordNotFound) {
					t.Errorf("consuming %q: %v, want verification_record.not_found", id, err)
				}
			}
		})
	})
}
