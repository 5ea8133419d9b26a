package tenant_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/authmail/authmail/internal/store"
	"github.com/authmail/authmail/internal/store/storetest"
	"github.com/authmail/authmail/internal/tenant"
)

// clock is a clock that moves only when told.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// putConnector stores an email connector for the default tenant,
// replacing the one it had.
func putConnector(t testing.TB, st *store.Store, id string) {
	t.Helper()
	now := time.Now()
	row := store.Connector{TenantID: tenant.Default, ID: id, ConnectorID: "dev-inbox", Config: "sealed", CreatedAt: now, UpdatedAt: now}
	if err := st.WriteQ().ConnectorReplace(context.Background(), row); err != nil {
		t.Fatal(err)
	}
}

func emailCodesOn(e *tenant.Experience) error {
	e.SignIn.Methods = []tenant.SignInMethod{{Identifier: "email", VerificationCode: true}}
	return nil
}

func emailCodesOff(e *tenant.Experience) error {
	e.SignIn.Methods = nil
	return nil
}

// TestSettingsChangedElsewhereApplyWithinASecond runs two Settings on one
// database, as two processes do: a change applies at once in the process
// that made it, and in the other once the second it may cache has passed.
func TestSettingsChangedElsewhereApplyWithinASecond(t *testing.T) {
	ctx := context.Background()
	st := storetest.SQLite(t)
	c := newClock()
	a, b := tenant.New(st, c.Now), tenant.New(st, c.Now)
	length := func(s *tenant.Settings) int {
		t.Helper()
		e, err := s.Experience(ctx, tenant.Default)
		if err != nil {
			t.Fatal(err)
		}
		return e.VerificationCodePolicy.Length
	}
	if got := length(b); got != 0 {
		t.Fatalf("fresh tenant's code length = %d, want the default (0)", got)
	}
	if _, err := a.PatchExperience(ctx, tenant.Default, func(e *tenant.Experience) error {
		e.VerificationCodePolicy.Length = 8
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if got := length(a); got != 8 {
		t.Errorf("the process that changed the length reads %d, want 8 at once", got)
	}
	if got := length(b); got != 0 {
		t.Errorf("the other process reads %d before its cached copy is a second old, want the old 0", got)
	}
	c.Advance(time.Second)
	if got := length(b); got != 8 {
		t.Errorf("the other process reads %d a second later, want 8", got)
	}

	const oldKey, newKey = "am_first_key_0123456789abcdef", "am_second_key_0123456789abcdef"
	valid := func(s *tenant.Settings, key string) bool {
		t.Helper()
		ok, err := s.AdminKeyValid(ctx, tenant.Default, key)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if ok := valid(b, oldKey); ok {
		t.Fatal("a tenant with no admin key accepted one")
	}
	c.Advance(time.Second)
	if _, err := a.EnsureAdminKey(ctx, tenant.Default, oldKey); err != nil {
		t.Fatal(err)
	}
	if !valid(b, oldKey) {
		t.Fatal("the admin key is refused once its absence is a second old")
	}
	if _, err := a.EnsureAdminKey(ctx, tenant.Default, newKey); err != nil {
		t.Fatal(err)
	}
	if !valid(a, newKey) || valid(a, oldKey) {
		t.Error("the process that replaced the admin key does not switch to the new one at once")
	}
	if !valid(b, oldKey) {
		t.Error("the other process dropped its cached admin key before the second passed")
	}
	c.Advance(time.Second)
	if valid(b, oldKey) || !valid(b, newKey) {
		t.Error("the other process still takes the replaced admin key a second later")
	}
}

// TestEnsureAdminKeyGeneratesOnce: with no key given, the first call
// generates and returns one that is then valid, and later calls keep it.
func TestEnsureAdminKeyGeneratesOnce(t *testing.T) {
	ctx := context.Background()
	s := tenant.New(storetest.SQLite(t), time.Now)
	fresh, err := s.EnsureAdminKey(ctx, tenant.Default, "")
	if err != nil || fresh == "" {
		t.Fatalf("first EnsureAdminKey = %q, %v; want a new key", fresh, err)
	}
	again, err := s.EnsureAdminKey(ctx, tenant.Default, "")
	if err != nil || again != "" {
		t.Fatalf("second EnsureAdminKey = %q, %v; want no new key", again, err)
	}
	if ok, err := s.AdminKeyValid(ctx, tenant.Default, fresh); err != nil || !ok {
		t.Fatalf("the generated key is not valid: %v, %v", ok, err)
	}
}

// TestPatchExperience: a patch merges into the stored settings; a refused
// one (invalid, email codes with no connector, or failed by its caller)
// writes nothing.
func TestPatchExperience(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		s := tenant.New(st, time.Now)
		stored := func() tenant.Experience {
			t.Helper()
			e, err := tenant.New(st, time.Now).Experience(ctx, tenant.Default)
			if err != nil {
				t.Fatal(err)
			}
			return e
		}
		if _, err := s.PatchExperience(ctx, tenant.Default, func(e *tenant.Experience) error {
			e.LanguageInfo.FallbackLanguage = "fr"
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		got, err := s.PatchExperience(ctx, tenant.Default, func(e *tenant.Experience) error {
			e.VerificationCodePolicy.Length = 8
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if got.LanguageInfo.FallbackLanguage != "fr" || got.VerificationCodePolicy.Length != 8 || stored().VerificationCodePolicy.Length != 8 {
			t.Fatalf("after two patches: returned %+v, stored %+v; want both changes", got, stored())
		}

		var fe *tenant.FieldError
		if _, err := s.PatchExperience(ctx, tenant.Default, func(e *tenant.Experience) error {
			e.VerificationCodePolicy.Length = 99
			return nil
		}); !errors.As(err, &fe) || fe.Field != "verificationCodePolicy" {
			t.Errorf("an out-of-range length: %v, want a FieldError on verificationCodePolicy", err)
		}
		if _, err := s.PatchExperience(ctx, tenant.Default, emailCodesOn); !errors.Is(err, tenant.ErrNoEmailConnector) {
			t.Errorf("email codes with no connector: %v, want ErrNoEmailConnector", err)
		}
		refused := errors.New("refused by the caller")
		if _, err := s.PatchExperience(ctx, tenant.Default, func(e *tenant.Experience) error {
			e.VerificationCodePolicy.Length = 4
			return refused
		}); !errors.Is(err, refused) {
			t.Errorf("a failing apply: %v, want its error", err)
		}
		if e := stored(); e.VerificationCodePolicy.Length != 8 || e.UsesEmailCodes() {
			t.Errorf("refused patches changed the stored settings: %+v", e)
		}

		putConnector(t, st, "conn_1")
		if _, err := s.PatchExperience(ctx, tenant.Default, emailCodesOn); err != nil {
			t.Errorf("email codes with a connector: %v", err)
		}
	})
}

// TestDeleteConnector: deleting the connector is refused while sign-in
// uses email codes unless forced; an unknown connector is not found.
func TestDeleteConnector(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		s := tenant.New(st, time.Now)
		if err := s.DeleteConnector(ctx, tenant.Default, "conn_nope", true); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("deleting an unknown connector: %v, want store.ErrNotFound", err)
		}
		putConnector(t, st, "conn_1")
		if _, err := s.PatchExperience(ctx, tenant.Default, emailCodesOn); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteConnector(ctx, tenant.Default, "conn_1", false); !errors.Is(err, tenant.ErrConnectorInUse) {
			t.Fatalf("deleting the connector email sign-in uses: %v, want ErrConnectorInUse", err)
		}
		if _, err := st.ConnectorGet(ctx, tenant.Default, "conn_1"); err != nil {
			t.Fatalf("the refused delete removed the connector: %v", err)
		}
		if err := s.DeleteConnector(ctx, tenant.Default, "conn_1", true); err != nil {
			t.Fatalf("forced delete: %v", err)
		}
		if _, err := st.ConnectorGet(ctx, tenant.Default, "conn_1"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("the forced delete left the connector: %v", err)
		}

		putConnector(t, st, "conn_2")
		if _, err := s.PatchExperience(ctx, tenant.Default, emailCodesOff); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteConnector(ctx, tenant.Default, "conn_2", false); err != nil {
			t.Fatalf("deleting an unused connector: %v", err)
		}
	})
}
