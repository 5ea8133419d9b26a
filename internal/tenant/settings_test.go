package tenant_test

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authmail/authmail/internal/store"
	"github.com/authmail/authmail/internal/store/storetest"
	"github.com/authmail/authmail/internal/tenant"
	"github.com/authmail/authmail/internal/verification"
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

// The patches that turn email sign-in codes on and (by resetting the
// sign-in methods to their default, none) off.
var (
	emailCodesOn  = []byte(`{"signIn":{"methods":[{"identifier":"email","verificationCode":true}]}}`)
	emailCodesOff = []byte(`{"signIn":null}`)
)

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
	if got := length(b); got != 6 {
		t.Fatalf("fresh tenant's code length = %d, want the default (6)", got)
	}
	if _, err := a.PatchExperience(ctx, tenant.Default, []byte(`{"verificationCodePolicy":{"length":8}}`)); err != nil {
		t.Fatal(err)
	}
	if got := length(a); got != 8 {
		t.Errorf("the process that changed the length reads %d, want 8 at once", got)
	}
	if got := length(b); got != 6 {
		t.Errorf("the other process reads %d before its cached copy is a second old, want the old 6", got)
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
	if _, err := a.EnsureAdminKey(ctx, tenant.Default, oldKey, noteKey); err != nil {
		t.Fatal(err)
	}
	if !valid(b, oldKey) {
		t.Fatal("the admin key is refused once its absence is a second old")
	}
	if _, err := a.EnsureAdminKey(ctx, tenant.Default, newKey, noteKey); err != nil {
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
	fresh, err := s.EnsureAdminKey(ctx, tenant.Default, "", noteKey)
	if err != nil || fresh == "" {
		t.Fatalf("first EnsureAdminKey = %q, %v; want a new key", fresh, err)
	}
	again, err := s.EnsureAdminKey(ctx, tenant.Default, "", noteKey)
	if err != nil || again != "" {
		t.Fatalf("second EnsureAdminKey = %q, %v; want no new key", again, err)
	}
	if ok, err := s.AdminKeyValid(ctx, tenant.Default, fresh); err != nil || !ok {
		t.Fatalf("the generated key is not valid: %v, %v", ok, err)
	}
}

// noteKey accepts a generated admin key (the app writes it to a file).
func noteKey(string) error { return nil }

// TestAnAdminKeyThatCannotBeWrittenDownIsNotStored: when the generated
// key cannot be kept (its file cannot be written), its hash is not
// committed, so the next start generates a key again instead of locking
// everyone out.
func TestAnAdminKeyThatCannotBeWrittenDownIsNotStored(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		s := tenant.New(st, time.Now)
		if _, err := s.EnsureAdminKey(ctx, tenant.Default, "", func(string) error { return errors.New("disk full") }); err == nil {
			t.Fatal("a key that could not be written down was reported as provisioned")
		}
		fresh, err := s.EnsureAdminKey(ctx, tenant.Default, "", noteKey)
		if err != nil || fresh == "" {
			t.Fatalf("the next start: %q, %v; want a new key", fresh, err)
		}
	})
}

// TestPatchExperience: a patch merges into the stored settings; a refused
// one (invalid, or email codes with no connector) writes nothing.
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
		if _, err := s.PatchExperience(ctx, tenant.Default, []byte(`{"languageInfo":{"fallbackLanguage":"fr"}}`)); err != nil {
			t.Fatal(err)
		}
		got, err := s.PatchExperience(ctx, tenant.Default, []byte(`{"verificationCodePolicy":{"length":8}}`))
		if err != nil {
			t.Fatal(err)
		}
		if got.LanguageInfo.FallbackLanguage != "fr" || got.VerificationCodePolicy.Length != 8 || stored().VerificationCodePolicy.Length != 8 {
			t.Fatalf("after two patches: returned %+v, stored %+v; want both changes", got, stored())
		}

		var fe *tenant.FieldError
		if _, err := s.PatchExperience(ctx, tenant.Default, []byte(`{"verificationCodePolicy":{"length":99}}`)); !errors.As(err, &fe) || fe.Field != "verificationCodePolicy.length" {
			t.Errorf("an out-of-range length: %v, want a FieldError on verificationCodePolicy.length", err)
		}
		if _, err := s.PatchExperience(ctx, tenant.Default, emailCodesOn); !errors.Is(err, tenant.ErrNoEmailConnector) {
			t.Errorf("email codes with no connector: %v, want ErrNoEmailConnector", err)
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

// TestNullResetsAFieldToItsDefault: null resets a field, or a whole
// object, to the default; the reset field is no longer stored, so it
// follows the default rather than freezing today's value; its neighbours
// keep what was set.
func TestNullResetsAFieldToItsDefault(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		s := tenant.New(st, time.Now)
		def := tenant.DefaultExperience()
		patch := func(p string) tenant.Experience {
			t.Helper()
			e, err := s.PatchExperience(ctx, tenant.Default, []byte(p))
			if err != nil {
				t.Fatalf("PATCH %s: %v", p, err)
			}
			return e
		}
		rawStored := func() string {
			t.Helper()
			v, err := st.SettingGet(ctx, tenant.Default, "experience")
			if err != nil {
				t.Fatal(err)
			}
			return v
		}
		patch(`{"verificationCodePolicy":{"resendCooldown":0,"length":8},"languageInfo":{"fallbackLanguage":"fr"},
			"emailBranding":{"senderName":"Acme","primaryColor":"#112233"}}`)

		e := patch(`{"verificationCodePolicy":{"resendCooldown":null}}`)
		if e.VerificationCodePolicy.ResendCooldown != def.VerificationCodePolicy.ResendCooldown || e.VerificationCodePolicy.Length != 8 {
			t.Errorf("after resetting resendCooldown: policy %+v, want the default cooldown and length 8 kept", e.VerificationCodePolicy)
		}
		if raw := rawStored(); strings.Contains(raw, "resendCooldown") || !strings.Contains(raw, `"length":8`) {
			t.Errorf("stored after the reset: %s, want length kept and resendCooldown unset", raw)
		}

		e = patch(`{"emailBranding":null}`)
		if e.EmailBranding != def.EmailBranding || e.LanguageInfo.FallbackLanguage != "fr" {
			t.Errorf("after resetting emailBranding: %+v, want the default branding and fr kept", e)
		}
		e = patch(`{"languageInfo":{"fallbackLanguage":null}}`)
		if e.LanguageInfo != def.LanguageInfo {
			t.Errorf("after resetting the fallback language: %+v, want %+v", e.LanguageInfo, def.LanguageInfo)
		}
		e = patch(`{"verificationCodePolicy":null}`)
		if e.VerificationCodePolicy != def.VerificationCodePolicy {
			t.Errorf("after resetting the policy: %+v, want the default %+v", e.VerificationCodePolicy, def.VerificationCodePolicy)
		}
		if got, err := tenant.New(st, time.Now).Experience(ctx, tenant.Default); err != nil || got.VerificationCodePolicy != def.VerificationCodePolicy || got.EmailBranding != def.EmailBranding {
			t.Errorf("read back after the resets: %+v, %v; want the defaults", got, err)
		}
	})
}

// TestEveryPolicyFieldIsCheckedResetAndInForce walks the policy's fields
// as verification declares them, so a field added there is held to the
// same rules: one past its range is refused naming it, a bound is
// accepted and in force, and null gives the default back.
func TestEveryPolicyFieldIsCheckedResetAndInForce(t *testing.T) {
	ctx := context.Background()
	st := storetest.SQLite(t)
	s := tenant.New(st, time.Now)
	inForce := func(e tenant.Experience, name string) int {
		t.Helper()
		b, _ := json.Marshal(e.VerificationCodePolicy)
		var m map[string]int
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		v, ok := m[name]
		if !ok {
			t.Fatalf("the policy in force has no %s: %s", name, b)
		}
		return v
	}
	for _, f := range verification.PolicyFields() {
		t.Run(f.Name, func(t *testing.T) {
			set := func(v string) (tenant.Experience, error) {
				return s.PatchExperience(ctx, tenant.Default, []byte(`{"verificationCodePolicy":{"`+f.Name+`":`+v+`}}`))
			}
			for _, v := range []int{f.Min - 1, f.Max + 1} {
				var fe *tenant.FieldError
				if _, err := set(strconv.Itoa(v)); !errors.As(err, &fe) || fe.Field != "verificationCodePolicy."+f.Name || fe.Reason == "" {
					t.Errorf("%s = %d: %v, want a FieldError on verificationCodePolicy.%s", f.Name, v, err, f.Name)
				}
			}
			bound := f.Min
			if bound == f.Default {
				bound = f.Max
			}
			e, err := set(strconv.Itoa(bound))
			if err != nil || inForce(e, f.Name) != bound {
				t.Fatalf("%s = %d: %v, %+v; want it in force", f.Name, bound, err, e.VerificationCodePolicy)
			}
			if e, err = s.Experience(ctx, tenant.Default); err != nil || inForce(e, f.Name) != bound {
				t.Fatalf("%s read back: %v, %+v; want %d", f.Name, err, e.VerificationCodePolicy, bound)
			}
			if e, err = set("null"); err != nil || inForce(e, f.Name) != f.Default {
				t.Fatalf("%s = null: %v, %+v; want the default %d", f.Name, err, e.VerificationCodePolicy, f.Default)
			}
		})
	}
}

// TestPatchIsAnObjectOfKnownFieldsAndTypes: anything else is refused with
// the field at fault, and writes nothing.
func TestPatchIsAnObjectOfKnownFieldsAndTypes(t *testing.T) {
	ctx := context.Background()
	st := storetest.SQLite(t)
	s := tenant.New(st, time.Now)
	for _, tc := range []struct{ patch, field string }{
		{`null`, ""},
		{`[]`, ""},
		{`"length"`, ""},
		{`{"nope":1}`, "nope"},
		{`{"verificationCodePolicy":{"length":"8"}}`, "verificationCodePolicy.length"},
		{`{"emailBranding":{"senderName":5}}`, "emailBranding.senderName"},
		{`{"signUp":{"verify":"yes"}}`, "signUp.verify"},
	} {
		var fe *tenant.FieldError
		if _, err := s.PatchExperience(ctx, tenant.Default, []byte(tc.patch)); !errors.As(err, &fe) || fe.Field != tc.field {
			t.Errorf("PATCH %s: %v, want a FieldError on %q", tc.patch, err, tc.field)
		}
	}
	if _, err := st.SettingGet(ctx, tenant.Default, "experience"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("refused patches stored settings: %v", err)
	}
}

// TestNegativeCooldownStoredEarlierReadsAsOff: settings stored when -1
// turned the resend cooldown off read as 0, which does that now, and a
// later patch stores the new form.
func TestNegativeCooldownStoredEarlierReadsAsOff(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		legacy := `{"verificationCodePolicy":{"length":8,"resendCooldown":-1},"languageInfo":{"fallbackLanguage":"en"},"emailBranding":{},"signUp":{"identifiers":null,"verify":false},"signIn":{"methods":null}}`
		if err := st.WriteQ().SettingPut(ctx, tenant.Default, "experience", legacy, time.Now()); err != nil {
			t.Fatal(err)
		}
		s := tenant.New(st, time.Now)
		e, err := s.Experience(ctx, tenant.Default)
		if err != nil || e.VerificationCodePolicy.ResendCooldown != 0 || e.VerificationCodePolicy.Length != 8 {
			t.Fatalf("legacy settings read as %+v, %v; want the cooldown off and length 8", e.VerificationCodePolicy, err)
		}
		if _, err := s.PatchExperience(ctx, tenant.Default, []byte(`{"languageInfo":{"fallbackLanguage":"fr"}}`)); err != nil {
			t.Fatalf("patching legacy settings: %v", err)
		}
		if raw, err := st.SettingGet(ctx, tenant.Default, "experience"); err != nil || !strings.Contains(raw, `"resendCooldown":0`) {
			t.Errorf("stored after the patch: %s, %v; want resendCooldown 0", raw, err)
		}
	})
}

// TestOldLockoutNamesReadAsSentinelPolicy: the lockout settings earlier
// versions stored in verificationCodePolicy are sentinelPolicy's, in
// force for the code checks too; a value stored under the new name wins
// over one under the old; the per-client threshold stays where it was.
func TestOldLockoutNamesReadAsSentinelPolicy(t *testing.T) {
	cases := []struct {
		name, stored string
		want         verification.SentinelPolicy
	}{
		{"old names only", `{"verificationCodePolicy":{"addressLockoutFailures":7,"lockoutMinutes":9,"lockoutFailures":5}}`,
			verification.SentinelPolicy{MaxAttempts: 7, LockoutDuration: 9}},
		{"one old name", `{"verificationCodePolicy":{"lockoutMinutes":9,"lockoutFailures":5}}`,
			verification.SentinelPolicy{MaxAttempts: verification.DefaultSentinelPolicy().MaxAttempts, LockoutDuration: 9}},
		{"the new name wins", `{"verificationCodePolicy":{"addressLockoutFailures":7,"lockoutMinutes":9,"lockoutFailures":5},"sentinelPolicy":{"maxAttempts":11}}`,
			verification.SentinelPolicy{MaxAttempts: 11, LockoutDuration: 9}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			storetest.ForEach(t, func(t *testing.T, st *store.Store) {
				ctx := context.Background()
				if err := st.WriteQ().SettingPut(ctx, tenant.Default, "experience", tc.stored, time.Now()); err != nil {
					t.Fatal(err)
				}
				e, err := tenant.New(st, time.Now).Experience(ctx, tenant.Default)
				if err != nil {
					t.Fatal(err)
				}
				if e.SentinelPolicy != tc.want || e.VerificationCodePolicy.Sentinel != tc.want || e.VerificationCodePolicy.LockoutFailures != 5 {
					t.Errorf("read as sentinelPolicy %+v (code policy's %+v), lockoutFailures %d; want %+v and 5",
						e.SentinelPolicy, e.VerificationCodePolicy.Sentinel, e.VerificationCodePolicy.LockoutFailures, tc.want)
				}
			})
		})
	}
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

// TestTryExperienceChecksAPatchAndSavesNothing: TryExperience answers the
// settings a patch would put in force, and refuses what PatchExperience
// refuses with the same error (email sign-in without an email
// connector), while the saved settings stay as they were.
func TestTryExperienceChecksAPatchAndSavesNothing(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		s := tenant.New(st, newClock().Now)
		if _, err := s.TryExperience(ctx, tenant.Default, emailCodesOn); !errors.Is(err, tenant.ErrNoEmailConnector) {
			t.Fatalf("email sign-in without a connector: %v, want ErrNoEmailConnector", err)
		}
		putConnector(t, st, "c1")
		got, err := s.TryExperience(ctx, tenant.Default, emailCodesOn)
		if err != nil || len(got.SignIn.Methods) != 1 || !got.SignIn.Methods[0].VerificationCode {
			t.Fatalf("tried: %+v, %v", got.SignIn, err)
		}
		if _, err := s.TryExperience(ctx, tenant.Default, []byte(`{"verificationCodePolicy":{"sendLimit":0}}`)); err == nil {
			t.Fatal("a send limit of 0 was not refused")
		}
		saved, err := s.Experience(ctx, tenant.Default)
		if err != nil || len(saved.SignIn.Methods) != 0 {
			t.Fatalf("trying saved the settings: %+v, %v", saved.SignIn, err)
		}
	})
}
