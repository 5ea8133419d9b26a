package api_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/authmail/authmail/internal/account"
	"github.com/authmail/authmail/internal/app/apptest"
	"github.com/authmail/authmail/internal/testwait"
)

// accountUser is a signed-in user calling the account API with the
// access token their app got from the OIDC provider.
type accountUser struct {
	t     *testing.T
	a     *apptest.App
	id    string
	email string
	token string
}

// signedInUser creates a user with the email and password, signs them in
// to an app by password through /oidc/auth and the experience API, and
// returns them with the app's access token (asked for with no resource).
func signedInUser(t *testing.T, a *apptest.App, email, password string) *accountUser {
	t.Helper()
	body := map[string]any{"password": password}
	if email != "" {
		body["primaryEmail"] = email
	}
	u := createUser(t, a, body)
	return signIn(t, a, u.ID, email, password)
}

// signIn signs an existing user in by password.
func signIn(t *testing.T, a *apptest.App, id, email, password string) *accountUser {
	t.Helper()
	b := newBrowser(t, a)
	b.event("SignIn")
	b.identify(b.password(email, password), http.StatusNoContent)
	if got := b.signedIn(b.submit()); got.Subject != id {
		t.Fatalf("signed in as %s, want %s", got.Subject, id)
	}
	if b.token.AccessToken == "" {
		t.Fatal("the code exchange gave no access token")
	}
	return &accountUser{t: t, a: a, id: id, email: email, token: b.token.AccessToken}
}

// do calls the account API with the user's token and, when verification
// is not "", the logto-verification-id header.
func (u *accountUser) do(method, path, verification string, body any) (*http.Response, []byte) {
	u.t.Helper()
	h := http.Header{"Authorization": {"Bearer " + u.token}}
	if verification != "" {
		h.Set(account.VerificationHeader, verification)
	}
	return u.a.Request(method, path, h, body)
}

func (u *accountUser) ok(method, path, verification string, body any, want int, out any) {
	u.t.Helper()
	resp, raw := u.do(method, path, verification, body)
	if resp.StatusCode != want {
		u.t.Fatalf("%s %s: %d %s, want %d", method, path, resp.StatusCode, raw, want)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			u.t.Fatalf("%s %s: decoding %s: %v", method, path, raw, err)
		}
	}
}

func (u *accountUser) fails(method, path, verification string, body any, status int, code string) {
	u.t.Helper()
	resp, raw := u.do(method, path, verification, body)
	var e apptest.Error
	_ = json.Unmarshal(raw, &e)
	if resp.StatusCode != status || e.Code != code {
		u.t.Fatalf("%s %s: %d %s, want %d %s", method, path, resp.StatusCode, raw, status, code)
	}
}

// created is a verification record's answer.
type created struct {
	VerificationRecordID string    `json:"verificationRecordId"`
	ExpiresAt            time.Time `json:"expiresAt"`
}

// sendCode asks for a code to email and returns the record, checking
// that the message's template is want.
func (u *accountUser) sendCode(email, want string) string {
	u.t.Helper()
	var out created
	u.ok("POST", "/api/verifications/verification-code", "", map[string]any{"identifier": emailID(email)}, http.StatusCreated, &out)
	if out.VerificationRecordID == "" || out.ExpiresAt.Before(time.Now().Add(9*time.Minute)) {
		u.t.Fatalf("code record = %+v, want an ID valid 10 minutes", out)
	}
	waitInbox(u.t, u.a, email, want)
	return out.VerificationRecordID
}

// verified sends a code to email, reads it from the dev inbox, verifies
// it and returns the verified record.
func (u *accountUser) verified(email, want string) string {
	u.t.Helper()
	id := u.sendCode(email, want)
	var out struct {
		VerificationRecordID string `json:"verificationRecordId"`
	}
	u.ok("POST", "/api/verifications/verification-code/verify", "",
		map[string]any{"identifier": emailID(email), "verificationId": id, "code": codeFromInbox(u.t, u.a, email)}, http.StatusOK, &out)
	if out.VerificationRecordID != id {
		u.t.Fatalf("verify answered %q, want %q", out.VerificationRecordID, id)
	}
	return id
}

// passwordRecord checks the user's password and returns the record.
func (u *accountUser) passwordRecord(password string) string {
	u.t.Helper()
	var out created
	u.ok("POST", "/api/verifications/password", "", map[string]string{"password": password}, http.StatusCreated, &out)
	return out.VerificationRecordID
}

// waitInbox waits for the newest message to email to be of the
// template want.
func waitInbox(t *testing.T, a *apptest.App, email, want string) {
	t.Helper()
	testwait.Until(t, 10*time.Second, func() bool {
		msgs := inbox(t, a, email)
		return len(msgs) > 0 && msgs[0].Type == want
	}, "no %s message first in the dev inbox for %s", want, email)
}

// accountCenter turns the account center on with the fields given.
func accountCenter(t *testing.T, a *apptest.App, fields map[string]string) {
	t.Helper()
	a.JSON("PATCH", "/api/account-center", map[string]any{"enabled": true, "fields": fields}, http.StatusOK, nil)
}

// allEdit is every field the tests change, at Edit.
var allEdit = map[string]string{"name": "Edit", "avatar": "Edit", "username": "Edit", "email": "Edit", "password": "Edit",
	"profile": "Edit", "deleteAccount": "Edit"}

type myAccount struct {
	ID           string  `json:"id"`
	PrimaryEmail *string `json:"primaryEmail"`
	Username     *string `json:"username"`
	Name         *string `json:"name"`
}

// TestAccountAPIChangesTheEmailAfterReVerification: a signed-in user
// proves it is them by a UserPermissionValidation code to their address,
// proves the new address by a BindNewIdentifier code, and changes their
// primary email with both records; the old address is told (with no
// code); the new-address record is used up by the change, and the
// permission record goes on unlocking changes for its ten minutes, as
// Logto's.
func TestAccountAPIChangesTheEmailAfterReVerification(t *testing.T) {
	runFlows(t, func(t *testing.T, a *apptest.App) {
		emailSignIn(t, a)
		accountCenter(t, a, allEdit)
		u := signedInUser(t, a, "old.address@example.com", "correct horse battery")

		var me myAccount
		u.ok("GET", "/api/my-account", "", nil, http.StatusOK, &me)
		if me.ID != u.id || me.PrimaryEmail == nil || *me.PrimaryEmail != u.email {
			t.Fatalf("my account = %+v, want %s with %s", me, u.id, u.email)
		}
		perm := u.verified("Old.Address@example.com", "UserPermissionValidation")
		bind := u.verified("new.address@example.com", "BindNewIdentifier")
		body := map[string]string{"email": "New.Address@Example.com", "newIdentifierVerificationRecordId": bind}
		u.ok("POST", "/api/my-account/primary-email", perm, body, http.StatusNoContent, nil)
		u.ok("GET", "/api/my-account", "", nil, http.StatusOK, &me)
		if me.PrimaryEmail == nil || *me.PrimaryEmail != "new.address@example.com" {
			t.Fatalf("primary email after the change = %v, want new.address@example.com", me.PrimaryEmail)
		}
		// The old address is told, with no code, naming the app.
		waitInbox(t, a, "old.address@example.com", "Generic")
		notice := inbox(t, a, "old.address@example.com")[0]
		if _, hasCode := notice.Payload["code"]; hasCode || notice.Subject != "Your email address was changed" || !strings.Contains(notice.Text, "Flows") {
			t.Errorf("the old address got %q with payload %v:\n%s\nwant the email-change notice naming the app, with no code", notice.Subject, notice.Payload, notice.Text)
		}
		// The new-address record changed the email once.
		u.fails("POST", "/api/my-account/primary-email", perm, body, http.StatusBadRequest, "verification_record.not_found")
		// The permission record still unlocks another change.
		u.ok("POST", "/api/my-account/password", perm, map[string]string{"password": "a new horse battery"}, http.StatusNoContent, nil)
	})
}

// TestAccountAPIRefusesWithoutAValidVerification: the email change
// needs a live permission record of the token's own user: none, a
// made-up one, a new-address record, a BindMfa record, an unverified
// code record, another user's record and an expired record are each
// verification_record.permission_denied (401); a new-address record that
// is not verified, is for another address or is another user's is
// verification_record.not_found.
func TestAccountAPIRefusesWithoutAValidVerification(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, dbURL string) {
		clock := &apptest.Clock{}
		a := apptest.New(t, dbURL, apptest.WithNow(clock.Now))
		emailSignIn(t, a)
		accountCenter(t, a, allEdit)
		u := signedInUser(t, a, "ann@example.com", "correct horse battery")
		other := signedInUser(t, a, "bob@example.com", "correct horse battery")

		bind := u.verified("ann.new@example.com", "BindNewIdentifier")
		change := func(verification, record string) (*http.Response, []byte) {
			return u.do("POST", "/api/my-account/primary-email", verification,
				map[string]string{"email": "ann.new@example.com", "newIdentifierVerificationRecordId": record})
		}
		unverified := u.sendCode("ann@example.com", "UserPermissionValidation")
		var mfa created
		u.ok("POST", "/api/verifications/verification-code", "", map[string]any{"identifier": emailID("ann@example.com"), "templateType": "BindMfa"}, http.StatusCreated, &mfa)
		waitInbox(t, a, "ann@example.com", "BindMfa")
		u.ok("POST", "/api/verifications/verification-code/verify", "", map[string]any{"identifier": emailID("ann@example.com"),
			"verificationId": mfa.VerificationRecordID, "code": codeFromInbox(t, a, "ann@example.com")}, http.StatusOK, nil)
		for name, v := range map[string]string{"no header": "", "an unknown record": "not-a-record", "a new-address record": bind,
			"a verified BindMfa record": mfa.VerificationRecordID,
			"an unverified code record": unverified, "another user's record": other.passwordRecord("correct horse battery")} {
			resp, raw := change(v, bind)
			if resp.StatusCode != http.StatusUnauthorized || errCode(raw) != "verification_record.permission_denied" {
				t.Errorf("with %s: %d %s, want 401 verification_record.permission_denied", name, resp.StatusCode, raw)
			}
		}
		perm := u.passwordRecord("correct horse battery")
		otherBind := other.verified("bob.new@example.com", "BindNewIdentifier")
		for name, rec := range map[string]string{"an unverified new-address record": u.sendCode("ann.other@example.com", "BindNewIdentifier"),
			"another user's new-address record": otherBind, "a permission record": perm} {
			resp, raw := change(perm, rec)
			if resp.StatusCode != http.StatusBadRequest || errCode(raw) != "verification_record.not_found" {
				t.Errorf("with %s: %d %s, want 400 verification_record.not_found", name, resp.StatusCode, raw)
			}
		}
		u.fails("POST", "/api/my-account/primary-email", perm,
			map[string]string{"email": "ann.elsewhere@example.com", "newIdentifierVerificationRecordId": bind}, http.StatusBadRequest, "verification_record.not_found")

		// Ten minutes on, both records have expired.
		clock.Advance(account.RecordTTL + time.Second)
		if resp, raw := change(perm, bind); resp.StatusCode != http.StatusUnauthorized || errCode(raw) != "verification_record.permission_denied" {
			t.Errorf("with an expired record: %d %s, want 401 verification_record.permission_denied", resp.StatusCode, raw)
		}
		perm = u.passwordRecord("correct horse battery")
		if resp, raw := change(perm, bind); resp.StatusCode != http.StatusBadRequest || errCode(raw) != "verification_record.not_found" {
			t.Errorf("with an expired new-address record: %d %s, want 400 verification_record.not_found", resp.StatusCode, raw)
		}
		var me myAccount
		u.ok("GET", "/api/my-account", "", nil, http.StatusOK, &me)
		if me.PrimaryEmail == nil || *me.PrimaryEmail != "ann@example.com" {
			t.Errorf("primary email after the refusals = %+v, want it unchanged", me)
		}
	})
}

// TestAccountAPIRefusesAnAddressInUse: an address another user has, in
// any spelling of its canonical form, is user.email_already_in_use, and
// the new-address record is kept for another try.
func TestAccountAPIRefusesAnAddressInUse(t *testing.T) {
	runFlows(t, func(t *testing.T, a *apptest.App) {
		emailSignIn(t, a)
		accountCenter(t, a, allEdit)
		u := signedInUser(t, a, "carol@example.com", "correct horse battery")
		createUser(t, a, map[string]any{"primaryEmail": "taken@example.com"})
		perm := u.passwordRecord("correct horse battery")
		bind := u.verified("Taken@EXAMPLE.com", "BindNewIdentifier")
		u.fails("POST", "/api/my-account/primary-email", perm,
			map[string]string{"email": "TAKEN@example.com", "newIdentifierVerificationRecordId": bind}, http.StatusUnprocessableEntity, "user.email_already_in_use")
		a.JSON("DELETE", "/api/users/"+usersWith(t, a, "taken@example.com")[0].ID, nil, http.StatusNoContent, nil)
		u.ok("POST", "/api/my-account/primary-email", perm,
			map[string]string{"email": "taken@example.com", "newIdentifierVerificationRecordId": bind}, http.StatusNoContent, nil)
	})
}

// TestAccountAPILinksAnEmailToAnAccountWithout: a user with a username
// and a password and no email proves it by password and links an email
// proved by a BindNewIdentifier code.
func TestAccountAPILinksAnEmailToAnAccountWithout(t *testing.T) {
	runFlows(t, func(t *testing.T, a *apptest.App) {
		emailSignIn(t, a)
		accountCenter(t, a, allEdit)
		u := signedInUser(t, a, "dave@example.com", "correct horse battery")
		// Remove the email the sign-in used: the user is left with a
		// username and a password.
		perm := u.passwordRecord("correct horse battery")
		u.fails("DELETE", "/api/my-account/primary-email", perm, nil, http.StatusBadRequest, "user.last_sign_in_method_required")
		u.ok("PATCH", "/api/my-account", perm, map[string]string{"username": "dave"}, http.StatusOK, nil)
		u.ok("DELETE", "/api/my-account/primary-email", perm, nil, http.StatusNoContent, nil)
		var me myAccount
		u.ok("GET", "/api/my-account", "", nil, http.StatusOK, &me)
		if me.PrimaryEmail != nil {
			t.Fatalf("primary email after the removal = %v, want none", *me.PrimaryEmail)
		}
		bind := u.verified("dave.linked@example.com", "BindNewIdentifier")
		u.ok("POST", "/api/my-account/primary-email", perm,
			map[string]string{"email": "dave.linked@example.com", "newIdentifierVerificationRecordId": bind}, http.StatusNoContent, nil)
		if got := getUser(t, a, u.id); got.PrimaryEmail == nil || *got.PrimaryEmail != "dave.linked@example.com" {
			t.Errorf("the user's email = %v, want dave.linked@example.com", got.PrimaryEmail)
		}
	})
}

// TestAccountAPIChangesThePassword: a password check gives a record (a
// wrong one is session.invalid_credentials); with it the password
// changes (the same one is user.same_password, a weak one
// password.rejected) and the new one signs in.
func TestAccountAPIChangesThePassword(t *testing.T) {
	runFlows(t, func(t *testing.T, a *apptest.App) {
		emailSignIn(t, a)
		accountCenter(t, a, allEdit)
		u := signedInUser(t, a, "erin@example.com", "correct horse battery")
		u.fails("POST", "/api/verifications/password", "", map[string]string{"password": "wrong horse battery"}, http.StatusUnprocessableEntity, "session.invalid_credentials")
		u.fails("POST", "/api/my-account/password", "", map[string]string{"password": "a new horse battery"}, http.StatusUnauthorized, "verification_record.permission_denied")
		perm := u.passwordRecord("correct horse battery")
		u.fails("POST", "/api/my-account/password", perm, map[string]string{"password": "correct horse battery"}, http.StatusUnprocessableEntity, "user.same_password")
		u.fails("POST", "/api/my-account/password", perm, map[string]string{"password": "short"}, http.StatusUnprocessableEntity, "password.rejected")
		u.ok("POST", "/api/my-account/password", perm, map[string]string{"password": "a new horse battery"}, http.StatusNoContent, nil)
		signIn(t, a, u.id, u.email, "a new horse battery")
	})
}

// TestAccountAPIChangesNameAndUsername: the name changes with the token
// alone; the username needs a permission record (Logto 1.40), follows
// the username rule and is unique.
func TestAccountAPIChangesNameAndUsername(t *testing.T) {
	runFlows(t, func(t *testing.T, a *apptest.App) {
		emailSignIn(t, a)
		accountCenter(t, a, allEdit)
		u := signedInUser(t, a, "frank@example.com", "correct horse battery")
		createUser(t, a, map[string]any{"username": "taken_name"})
		var me myAccount
		u.ok("PATCH", "/api/my-account", "", map[string]string{"name": "Frank"}, http.StatusOK, &me)
		if me.Name == nil || *me.Name != "Frank" {
			t.Fatalf("after the name change: %+v", me)
		}
		u.fails("PATCH", "/api/my-account", "", map[string]string{"username": "frank"}, http.StatusUnauthorized, "verification_record.permission_denied")
		perm := u.passwordRecord("correct horse battery")
		u.fails("PATCH", "/api/my-account", perm, map[string]string{"username": "1frank"}, http.StatusBadRequest, "guard.invalid_input")
		u.fails("PATCH", "/api/my-account", perm, map[string]string{"username": "taken_name"}, http.StatusUnprocessableEntity, "user.username_already_in_use")
		u.ok("PATCH", "/api/my-account", perm, map[string]string{"username": "frank"}, http.StatusOK, &me)
		if me.Username == nil || *me.Username != "frank" {
			t.Fatalf("after the username change: %+v", me)
		}
	})
}

// TestAccountCenterGatesEachField: the account center is off by default
// (account_center.not_enabled); a field Off is left out of the account
// and refused, a ReadOnly one shown and refused with
// account_center.field_not_editable.
func TestAccountCenterGatesEachField(t *testing.T) {
	runFlows(t, func(t *testing.T, a *apptest.App) {
		emailSignIn(t, a)
		var c struct {
			Enabled bool              `json:"enabled"`
			Fields  map[string]string `json:"fields"`
		}
		a.JSON("GET", "/api/account-center", nil, http.StatusOK, &c)
		if c.Enabled || len(c.Fields) != 0 {
			t.Fatalf("default account center = %+v, want off with no field", c)
		}
		u := signedInUser(t, a, "gina@example.com", "correct horse battery")
		u.fails("GET", "/api/my-account", "", nil, http.StatusBadRequest, "account_center.not_enabled")
		a.WantError("PATCH", "/api/account-center", map[string]any{"fields": map[string]string{"email": "Sometimes"}}, http.StatusBadRequest, "guard.invalid_input")

		accountCenter(t, a, map[string]string{"email": "ReadOnly", "name": "Edit"})
		a.JSON("GET", "/api/account-center", nil, http.StatusOK, &c)
		if !c.Enabled || c.Fields["email"] != "ReadOnly" || c.Fields["password"] != "" {
			t.Fatalf("account center = %+v, want on with email ReadOnly", c)
		}
		var raw map[string]any
		u.ok("GET", "/api/my-account", "", nil, http.StatusOK, &raw)
		if raw["primaryEmail"] != "gina@example.com" {
			t.Errorf("with email ReadOnly the account is %v, want the email shown", raw)
		}
		if _, ok := raw["username"]; ok {
			t.Errorf("with username Off the account is %v, want no username", raw)
		}
		perm := u.passwordRecord("correct horse battery")
		bind := u.verified("gina.new@example.com", "BindNewIdentifier")
		u.fails("POST", "/api/my-account/primary-email", perm,
			map[string]string{"email": "gina.new@example.com", "newIdentifierVerificationRecordId": bind}, http.StatusBadRequest, "account_center.field_not_editable")
		u.fails("POST", "/api/my-account/password", perm, map[string]string{"password": "a new horse battery"}, http.StatusBadRequest, "account_center.field_not_editable")
		u.fails("PATCH", "/api/my-account", perm, map[string]string{"username": "gina"}, http.StatusBadRequest, "account_center.field_not_editable")
		u.fails("DELETE", "/api/my-account", perm, nil, http.StatusBadRequest, "account_center.field_not_editable")
		u.ok("PATCH", "/api/my-account", "", map[string]string{"name": "Gina"}, http.StatusOK, nil)
	})
}

// TestAccountAPIRefusesMissingInvalidAndExpiredTokens: no token, a
// token that is not one, the admin key, an access token after its hour
// and after the user was suspended are auth.unauthorized (401).
func TestAccountAPIRefusesMissingInvalidAndExpiredTokens(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, dbURL string) {
		clock := &apptest.Clock{}
		a := apptest.New(t, dbURL, apptest.WithNow(clock.Now))
		emailSignIn(t, a)
		accountCenter(t, a, allEdit)
		u := signedInUser(t, a, "hank@example.com", "correct horse battery")
		for name, h := range map[string]http.Header{"no token": {}, "a made-up token": {"Authorization": {"Bearer made-up"}},
			"the admin key": {"Authorization": {"Bearer " + a.AdminKey}}} {
			resp, raw := a.Request("GET", "/api/my-account", h, nil)
			if resp.StatusCode != http.StatusUnauthorized || errCode(raw) != "auth.unauthorized" {
				t.Errorf("with %s: %d %s, want 401 auth.unauthorized", name, resp.StatusCode, raw)
			}
		}
		u.ok("GET", "/api/my-account", "", nil, http.StatusOK, nil)
		a.JSON("PATCH", "/api/users/"+u.id+"/is-suspended", map[string]bool{"isSuspended": true}, http.StatusOK, nil)
		u.fails("GET", "/api/my-account", "", nil, http.StatusUnauthorized, "auth.unauthorized")
		a.JSON("PATCH", "/api/users/"+u.id+"/is-suspended", map[string]bool{"isSuspended": false}, http.StatusOK, nil)
		u.ok("GET", "/api/my-account", "", nil, http.StatusOK, nil)
		clock.Advance(time.Hour + time.Second)
		u.fails("GET", "/api/my-account", "", nil, http.StatusUnauthorized, "auth.unauthorized")
	})
}

// TestAccountAPIDeletesTheAccountAfterReVerification: deleting the
// account needs a permission record; after it the user is gone and the
// token opens nothing.
func TestAccountAPIDeletesTheAccountAfterReVerification(t *testing.T) {
	runFlows(t, func(t *testing.T, a *apptest.App) {
		emailSignIn(t, a)
		accountCenter(t, a, allEdit)
		u := signedInUser(t, a, "ivy@example.com", "correct horse battery")
		u.fails("DELETE", "/api/my-account", "", nil, http.StatusUnauthorized, "verification_record.permission_denied")
		perm := u.verified("ivy@example.com", "UserPermissionValidation")
		u.ok("DELETE", "/api/my-account", perm, nil, http.StatusNoContent, nil)
		a.WantError("GET", "/api/users/"+u.id, nil, http.StatusNotFound, "entity.not_exists_with_id")
		u.fails("GET", "/api/my-account", "", nil, http.StatusUnauthorized, "auth.unauthorized")
	})
}

// errCode is an error body's code.
func errCode(raw []byte) string {
	var e apptest.Error
	_ = json.Unmarshal(raw, &e)
	return e.Code
}

// TestAccountAPIAnswersPagesOfAnyOrigin: as Logto's, a browser app on
// another origin may call the account and verification routes with the
// user's token: the preflight is answered and the answers allow any
// origin, without credentials; the management routes allow none.
func TestAccountAPIAnswersPagesOfAnyOrigin(t *testing.T) {
	runFlows(t, func(t *testing.T, a *apptest.App) {
		emailSignIn(t, a)
		accountCenter(t, a, allEdit)
		u := signedInUser(t, a, "olga@example.com", "correct horse battery")
		for _, path := range []string{"/api/my-account", "/api/my-account/primary-email", "/api/verifications/verification-code"} {
			resp, _ := a.Request("OPTIONS", path, http.Header{"Origin": {"https://spa.example.com"}, "Access-Control-Request-Method": {"POST"},
				"Access-Control-Request-Headers": {"authorization, content-type, logto-verification-id"}}, nil)
			h := resp.Header
			if resp.StatusCode != http.StatusNoContent || h.Get("Access-Control-Allow-Origin") != "*" ||
				!strings.Contains(h.Get("Access-Control-Allow-Headers"), account.VerificationHeader) || h.Get("Access-Control-Allow-Credentials") != "" {
				t.Errorf("preflight of %s: %d %v, want 204 allowing any origin and the verification header, without credentials", path, resp.StatusCode, h)
			}
		}
		resp, _ := u.do("GET", "/api/my-account", "", nil)
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Access-Control-Allow-Origin") != "*" {
			t.Errorf("GET /api/my-account: %d, Access-Control-Allow-Origin %q, want *", resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"))
		}
		resp, _ = a.Request("GET", "/api/account-center", http.Header{"Authorization": {"Bearer " + a.AdminKey}, "Origin": {"https://spa.example.com"}}, nil)
		if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "" {
			t.Errorf("a management route allows origin %q, want none", got)
		}
	})
}

// TestAccountAPIPasswordChecksShareTheSignInLockout: wrong passwords at
// /api/verifications/password count toward the lockout of the user's
// address that password sign-ins count toward; once it is reached even
// the right password is session.verification_blocked_too_many_attempts,
// with the time left.
func TestAccountAPIPasswordChecksShareTheSignInLockout(t *testing.T) {
	runFlows(t, func(t *testing.T, a *apptest.App) {
		emailSignIn(t, a)
		accountCenter(t, a, allEdit)
		u := signedInUser(t, a, "pat@example.com", "correct horse battery")
		patchExperience(t, a, map[string]any{"verificationCodePolicy": map[string]any{"lockoutFailures": 2}})
		for range 2 {
			u.fails("POST", "/api/verifications/password", "", map[string]string{"password": "wrong horse battery"}, http.StatusUnprocessableEntity, "session.invalid_credentials")
		}
		resp, raw := u.do("POST", "/api/verifications/password", "", map[string]string{"password": "correct horse battery"})
		if resp.StatusCode != http.StatusBadRequest || errCode(raw) != "session.verification_blocked_too_many_attempts" || resp.Header.Get("Retry-After") == "" {
			t.Fatalf("the right password after the lockout: %d %s (Retry-After %q), want 400 session.verification_blocked_too_many_attempts",
				resp.StatusCode, raw, resp.Header.Get("Retry-After"))
		}
	})
}
