package identity_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/authmail/authmail/internal/identity"
	"github.com/authmail/authmail/internal/password"
	"github.com/authmail/authmail/internal/store"
	"github.com/authmail/authmail/internal/store/storetest"
)

// TestAPrimaryEmailIsVerifiedOnlyWhileItIsTheProvedOne: a user created
// with a proved email keeps it verified through other changes; changing
// the address makes it unverified unless the patch says the new one was
// proved; a verified email needs an email.
func TestAPrimaryEmailIsVerifiedOnlyWhileItIsTheProvedOne(t *testing.T) {
	ctx := context.Background()
	storetest.ForEach(t, func(t *testing.T, st *store.Store) {
		svc := identity.New(st, func() time.Time { return time.Now().UTC() }, password.NewChecker(http.DefaultClient, ""))
		u, err := svc.Create(ctx, "default", identity.NewUser{PrimaryEmail: "Bob@Example.com", EmailVerified: true}, password.DefaultPolicy())
		if err != nil || !u.EmailVerified {
			t.Fatalf("created: %+v, %v; want the email verified", u, err)
		}
		name, same := "Bob", "bob@example.com"
		if u, err = svc.Update(ctx, "default", u.ID, identity.Patch{Name: &name, PrimaryEmail: &same}); err != nil || !u.EmailVerified {
			t.Fatalf("after a name change and the same address: %+v, %v; want the email still verified", u, err)
		}
		other := "robert@example.com"
		if u, err = svc.Update(ctx, "default", u.ID, identity.Patch{PrimaryEmail: &other}); err != nil || u.EmailVerified {
			t.Fatalf("after an address change: %+v, %v; want the email not verified", u, err)
		}
		proved, yes := "bobby@example.com", true
		if u, err = svc.Update(ctx, "default", u.ID, identity.Patch{PrimaryEmail: &proved, EmailVerified: &yes}); err != nil || !u.EmailVerified {
			t.Fatalf("after a proved address change: %+v, %v; want the email verified", u, err)
		}
		var fe *identity.FieldError
		if _, err := svc.Create(ctx, "default", identity.NewUser{Username: "nomail", EmailVerified: true}, password.DefaultPolicy()); !errors.As(err, &fe) {
			t.Errorf("a verified email without an email: %v, want a FieldError", err)
		}
		if got, err := svc.Get(ctx, "default", u.ID); err != nil || !got.EmailVerified || got.PrimaryEmail != proved {
			t.Errorf("read back: %+v, %v", got, err)
		}
	})
}
