package api_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/authmail/authmail/internal/app/apptest"
	"github.com/authmail/authmail/internal/experience"
)

// TestSignUpByCodeOpensASessionTheNextAuthorizationUses: Register with a
// code creates the user at identification (201); submit completes the
// authorization request, whose code the app exchanges for an ID token of
// the new user (amr otp), and sets the _session cookie as oidc-provider's
// (HttpOnly, SameSite=Lax, Path=/, 14 days); the interaction is over. The
// browser's next authorization request completes at once from the
// session; prompt=login makes it sign in again, and after the end of the
// session it must (on the page first_screen asks for).
func TestSignUpByCodeOpensASessionTheNextAuthorizationUses(t *testing.T) {
	runFlows(t, func(t *testing.T, a *apptest.App) {
		emailSignIn(t, a)
		const email = "new.user@example.com"
		b := newBrowser(t, a)
		b.event("Register")
		id := b.codeVerified("New.User@Example.com", "Register")
		if got := inbox(t, a, email); len(got) != 1 || got[0].Type != "Register" {
			t.Fatalf("dev inbox for %s = %+v, want one Register message", email, got)
		}
		b.identify(id, http.StatusCreated)
		us := usersWith(t, a, email)
		if len(us) != 1 || us[0].PrimaryEmail == nil || *us[0].PrimaryEmail != email {
			t.Fatalf("users with %s = %+v, want the new user", email, us)
		}

		resp, raw := b.do("POST", "/api/experience/submit", nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("submit: %d %s", resp.StatusCode, raw)
		}
		var out struct{ RedirectTo string }
		_ = json.Unmarshal(raw, &out)
		var session *http.Cookie
		for _, ck := range resp.Cookies() {
			if ck.Name == experience.SessionCookie {
				session = ck
			}
		}
		if session == nil || !session.HttpOnly || session.SameSite != http.SameSiteLaxMode || session.Path != "/" ||
			session.MaxAge != int(experience.SessionTTL.Seconds()) || session.Secure {
			t.Errorf("session cookie = %+v, want HttpOnly, SameSite=Lax, Path=/, 14 days, not Secure on http", session)
		}
		token := b.signedIn(out.RedirectTo)
		if token.Subject != us[0].ID || !slices.Equal(amr(t, token), []string{experience.AMRCode}) {
			t.Errorf("the ID token: sub %s amr %v, want %s by otp", token.Subject, amr(t, token), us[0].ID)
		}
		if getUser(t, a, us[0].ID).LastSignInAt == nil {
			t.Error("lastSignInAt is not set after the sign-up")
		}
		b.fails("GET", "/api/experience/interaction", nil, http.StatusBadRequest, "session.not_found")

		// The next authorization request completes from the session.
		to := b.authorize()
		if to.Path != "/oidc/auth/callback" {
			t.Fatalf("with a session the interaction sends the browser to %s, want the callback", to)
		}
		if again := b.signedIn(to.String()); again.Subject != us[0].ID {
			t.Errorf("the session's sign-in is %s, want %s", again.Subject, us[0].ID)
		}
		if to := b.authorize(oauth2.SetAuthURLParam("prompt", "login")); to.String() != a.BaseURL+experience.SignInPage {
			t.Errorf("prompt=login sends the browser to %s, want the sign-in page", to)
		}
		b.redirect(a.BaseURL + "/oidc/session/end?client_id=" + url.QueryEscape(b.appID))
		if to := b.authorize(oauth2.SetAuthURLParam("first_screen", "register")); to.String() != a.BaseURL+experience.RegisterPage {
			t.Errorf("after the end of the session the interaction sends the browser to %s, want the register page", to)
		}
	})
}

// TestSignUpAsksForTheMissingProfile: when sign-up requires a username,
// identification answers user.missing_profile naming it, keeps the
// verified email, and creates the user once the profile has it, from an
// identification with no verificationId.
func TestSignUpAsksForTheMissingProfile(t *testing.T) {
	runFlows(t, func(t *testing.T, a *apptest.App) {
		emailSignIn(t, a)
		patchExperience(t, a, map[string]any{"signUp": map[string]any{"identifiers": []string{"email", "username"}, "verify": true}})
		const email = "profiled@example.com"
		b := newBrowser(t, a)
		b.event("Register")
		id := b.codeVerified(email, "Register")
		e := b.fails("POST", "/api/experience/identification", map[string]string{"verificationId": id}, http.StatusUnprocessableEntity, "user.missing_profile")
		var data struct{ MissingProfile []string }
		if err := json.Unmarshal(e.Data, &data); err != nil || !slices.Equal(data.MissingProfile, []string{"username"}) {
			t.Fatalf("missing profile data = %s, want [username]", e.Data)
		}
		if us := usersWith(t, a, email); len(us) != 0 {
			t.Fatalf("a user was created without the profile: %+v", us)
		}
		var v struct {
			Profile struct{ PrimaryEmail string }
		}
		b.ok("GET", "/api/experience/interaction", nil, http.StatusOK, &v)
		if v.Profile.PrimaryEmail != email {
			t.Errorf("profile after missing_profile = %+v, want the verified email kept", v.Profile)
		}
		b.fails("POST", "/api/experience/profile", map[string]string{"type": "username", "value": "1bad"}, http.StatusBadRequest, "guard.invalid_input")
		b.ok("POST", "/api/experience/profile", map[string]string{"type": "username", "value": "profiled_user"}, http.StatusNoContent, nil)
		b.identify("", http.StatusCreated)
		us := usersWith(t, a, email)
		if len(us) != 1 || us[0].Username == nil || *us[0].Username != "profiled_user" {
			t.Fatalf("users = %+v, want one with the username", us)
		}
		if b.signedIn(b.submit()).Subject != us[0].ID {
			t.Error("the sign-up's ID token is not the new user's")
		}
	})
}

// TestSignInByCodeAndByPassword: an existing user signs in by code (amr
// otp) and, in another browser, by password (amr pwd); identification is
// 204 and creates nobody.
func TestSignInByCodeAndByPassword(t *testing.T) {
	runFlows(t, func(t *testing.T, a *apptest.App) {
		emailSignIn(t, a)
		u := createUser(t, a, map[string]any{"primaryEmail": "sam@example.com", "password": "correct horse battery"})

		b := newBrowser(t, a)
		b.event("SignIn")
		b.identify(b.codeVerified("SAM@example.com", "SignIn"), http.StatusNoContent)
		if id := b.signedIn(b.submit()); id.Subject != u.ID || !slices.Equal(amr(t, id), []string{experience.AMRCode}) {
			t.Errorf("code sign-in: sub %s amr %v, want %s by otp", id.Subject, amr(t, id), u.ID)
		}

		p := newBrowser(t, a)
		p.event("SignIn")
		p.identify(p.password("sam@example.com", "correct horse battery"), http.StatusNoContent)
		if id := p.signedIn(p.submit()); id.Subject != u.ID || !slices.Equal(amr(t, id), []string{experience.AMRPassword}) {
			t.Errorf("password sign-in: sub %s amr %v, want %s by pwd", id.Subject, amr(t, id), u.ID)
		}
		if n := len(usersWith(t, a, "example.com")); n != 1 {
			t.Errorf("%d users after two sign-ins, want 1", n)
		}
	})
}

// TestForgotPasswordChangesThePassword: a code, identification, the new
// password (the old one is refused as the same) and submit, which answers
// no redirectTo and starts the interaction over; the old password then
// fails and the new one signs in.
func TestForgotPasswordChangesThePassword(t *testing.T) {
	runFlows(t, func(t *testing.T, a *apptest.App) {
		emailSignIn(t, a)
		const email, old, fresh = "forgetful@example.com", "correct horse battery", "staple battery horse"
		createUser(t, a, map[string]any{"primaryEmail": email, "password": old})
		b := newBrowser(t, a)
		b.event("ForgotPassword")
		b.fails("PUT", "/api/experience/profile/password", map[string]string{"password": fresh}, http.StatusNotFound, "session.identifier_not_found")
		id := b.codeVerified(email, "ForgotPassword")
		if got := inbox(t, a, email); got[0].Type != "ForgotPassword" {
			t.Errorf("the code's template is %s, want ForgotPassword", got[0].Type)
		}
		b.identify(id, http.StatusNoContent)
		b.fails("POST", "/api/experience/submit", nil, http.StatusUnprocessableEntity, "user.new_password_required_in_profile")
		b.fails("PUT", "/api/experience/profile/password", map[string]string{"password": old}, http.StatusUnprocessableEntity, "user.same_password")
		b.fails("PUT", "/api/experience/profile/password", map[string]string{"password": "short"}, http.StatusUnprocessableEntity, "password.rejected")
		b.fails("POST", "/api/experience/profile", map[string]string{"type": "password", "value": fresh}, http.StatusBadRequest, "session.not_supported_for_forgot_password")
		b.ok("PUT", "/api/experience/profile/password", map[string]string{"password": fresh}, http.StatusNoContent, nil)
		if to := b.submit(); to != "" {
			t.Errorf("ForgotPassword submit redirectTo = %q, want none", to)
		}
		b.fails("GET", "/api/experience/interaction", nil, http.StatusNotFound, "session.interaction_not_found")

		// The same interaction signs in next, with the new password only.
		b.event("SignIn")
		b.fails("POST", "/api/experience/verification/password", map[string]any{"identifier": emailID(email), "password": old},
			http.StatusUnprocessableEntity, "session.invalid_credentials")
		b.identify(b.password(email, fresh), http.StatusNoContent)
		b.signedIn(b.submit())
	})
}

// TestCodeFailures: a wrong code is code_mismatch; the code of a record a
// resend replaced is gone with its verificationId; a used code does not
// verify twice; an expired code is expired; a code's tries run out.
func TestCodeFailures(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, dbURL string) {
		clock := &apptest.Clock{}
		a := apptest.New(t, dbURL, apptest.WithNow(clock.Now))
		emailSignIn(t, a)
		patchExperience(t, a, map[string]any{"verificationCodePolicy": map[string]any{"resendCooldown": 0, "maxRetryAttempts": 2}})
		const email = "flaky@example.com"
		createUser(t, a, map[string]any{"primaryEmail": email})
		b := newBrowser(t, a)
		b.event("SignIn")
		verify := func(id, code string) (int, apptest.Error) {
			resp, raw := b.do("POST", "/api/experience/verification/verification-code/verify", map[string]any{"identifier": emailID(email), "verificationId": id, "code": code})
			var e apptest.Error
			_ = json.Unmarshal(raw, &e)
			return resp.StatusCode, e
		}
		first := b.sendCode(email, "SignIn")
		firstCode := newCode(t, a, email, 0)
		wrong := "000000"
		if firstCode == wrong {
			wrong = "111111"
		}
		if st, e := verify(first, wrong); st != 400 || e.Code != "verification_code.code_mismatch" {
			t.Errorf("wrong code: %d %s", st, e.Code)
		}
		// A resend replaces the record: the old verificationId is gone.
		second := b.sendCode(email, "SignIn")
		secondCode := newCode(t, a, email, 1)
		if second == first {
			t.Fatal("the resend kept the verificationId")
		}
		if st, e := verify(first, firstCode); st != 404 || e.Code != "session.verification_session_not_found" {
			t.Errorf("the replaced record: %d %s, want 404 session.verification_session_not_found", st, e.Code)
		}
		b.fails("POST", "/api/experience/verification/verification-code/verify", map[string]any{"identifier": emailID("other@example.com"), "verificationId": second, "code": secondCode},
			http.StatusBadRequest, "verification_code.email_mismatch")
		b.verifyCode(email, second, secondCode)
		if st, e := verify(second, secondCode); st != 400 || e.Code != "verification_code.not_found" {
			t.Errorf("the used code again: %d %s, want 400 verification_code.not_found", st, e.Code)
		}

		// Two wrong tries use a code up.
		third := b.sendCode(email, "SignIn")
		thirdCode := newCode(t, a, email, 2)
		bad := "000000"
		if thirdCode == bad {
			bad = "111111"
		}
		for range 2 {
			verify(third, bad)
		}
		if st, e := verify(third, thirdCode); st != 400 || e.Code != "verification_code.exceed_max_try" {
			t.Errorf("after the tries: %d %s, want 400 verification_code.exceed_max_try", st, e.Code)
		}

		// A code past its lifetime (600 s) has expired.
		fourth := b.sendCode(email, "SignIn")
		fourthCode := newCode(t, a, email, 3)
		clock.Advance(601 * time.Second)
		if st, e := verify(fourth, fourthCode); st != 400 || e.Code != "verification_code.expired" {
			t.Errorf("an expired code: %d %s, want 400 verification_code.expired", st, e.Code)
		}
	})
}

// TestAVerificationRecordIsUsedOnce: a record identification consumed
// cannot identify again, in its interaction or another.
func TestAVerificationRecordIsUsedOnce(t *testing.T) {
	runFlows(t, func(t *testing.T, a *apptest.App) {
		emailSignIn(t, a)
		const email = "once@example.com"
		createUser(t, a, map[string]any{"primaryEmail": email})
		b := newBrowser(t, a)
		b.event("SignIn")
		id := b.codeVerified(email, "SignIn")
		b.identify(id, http.StatusNoContent)
		b.fails("POST", "/api/experience/identification", map[string]string{"verificationId": id}, http.StatusNotFound, "session.verification_session_not_found")
		other := newBrowser(t, a)
		other.event("SignIn")
		other.fails("POST", "/api/experience/identification", map[string]string{"verificationId": id}, http.StatusNotFound, "session.verification_session_not_found")
	})
}

// TestSignInRefusals: a suspended user (by password and by code) is 401
// user.suspended; a second user in one interaction is 409
// session.identity_conflict; an address nobody has is 404
// user.user_not_exist, after which switching to Register creates it with
// the same record; a method the settings do not enable is 422.
func TestSignInRefusals(t *testing.T) {
	runFlows(t, func(t *testing.T, a *apptest.App) {
		emailSignIn(t, a)
		sus := createUser(t, a, map[string]any{"primaryEmail": "sus@example.com", "password": "correct horse battery"})
		a.JSON("PATCH", "/api/users/"+sus.ID+"/is-suspended", map[string]bool{"isSuspended": true}, http.StatusOK, nil)
		b := newBrowser(t, a)
		b.event("SignIn")
		b.fails("POST", "/api/experience/verification/password", map[string]any{"identifier": emailID("sus@example.com"), "password": "correct horse battery"},
			http.StatusUnauthorized, "user.suspended")
		id := b.codeVerified("sus@example.com", "SignIn")
		b.fails("POST", "/api/experience/identification", map[string]string{"verificationId": id}, http.StatusUnauthorized, "user.suspended")

		createUser(t, a, map[string]any{"primaryEmail": "ann@example.com", "password": "correct horse battery"})
		createUser(t, a, map[string]any{"primaryEmail": "bea@example.com"})
		x := newBrowser(t, a)
		x.event("SignIn")
		x.identify(x.password("ann@example.com", "correct horse battery"), http.StatusNoContent)
		x.fails("POST", "/api/experience/identification", map[string]string{"verificationId": x.codeVerified("bea@example.com", "SignIn")},
			http.StatusConflict, "session.identity_conflict")

		n := newBrowser(t, a)
		n.event("SignIn")
		rec := n.codeVerified("nobody@example.com", "SignIn")
		e := n.fails("POST", "/api/experience/identification", map[string]string{"verificationId": rec}, http.StatusNotFound, "user.user_not_exist")
		var data struct{ Identifier string }
		if json.Unmarshal(e.Data, &data); data.Identifier != "nobody@example.com" {
			t.Errorf("user_not_exist data = %s, want the identifier", e.Data)
		}
		n.ok("PUT", "/api/experience/interaction-event", map[string]string{"interactionEvent": "Register"}, http.StatusNoContent, nil)
		n.identify(rec, http.StatusCreated)
		n.signedIn(n.submit())

		// Register for an address a user has: email_already_in_use, then
		// continue to sign in with the same record.
		r := newBrowser(t, a)
		r.event("Register")
		rid := r.codeVerified("bea@example.com", "Register")
		r.fails("POST", "/api/experience/identification", map[string]string{"verificationId": rid}, http.StatusUnprocessableEntity, "user.email_already_in_use")
		r.ok("PUT", "/api/experience/interaction-event", map[string]string{"interactionEvent": "SignIn"}, http.StatusNoContent, nil)
		r.identify(rid, http.StatusNoContent)

		patchExperience(t, a, map[string]any{"signIn": map[string]any{"methods": []map[string]any{{"identifier": "email", "password": false, "verificationCode": true, "isPasswordPrimary": false}}}})
		p := newBrowser(t, a)
		p.event("SignIn")
		p.fails("POST", "/api/experience/identification", map[string]string{"verificationId": p.password("ann@example.com", "correct horse battery")},
			http.StatusUnprocessableEntity, "user.sign_in_method_not_enabled")
	})
}

// TestInteractionGuards: no cookie (or an unknown one) is 400
// session.not_found; a step before PUT /api/experience is 404
// session.interaction_not_found; ForgotPassword cannot be switched to or
// from; a resend within the cooldown is 429 with Retry-After, and the
// send's answer gives the cooldown.
func TestInteractionGuards(t *testing.T) {
	runFlows(t, func(t *testing.T, a *apptest.App) {
		emailSignIn(t, a)
		none := &browser{t: t, a: a, cookies: map[string]string{}, header: http.Header{}}
		none.fails("PUT", "/api/experience", map[string]string{"interactionEvent": "SignIn"}, http.StatusBadRequest, "session.not_found")
		none.cookies[experience.InteractionCookie] = "not-an-interaction"
		none.fails("GET", "/api/experience/interaction", nil, http.StatusBadRequest, "session.not_found")

		b := newBrowser(t, a)
		b.fails("POST", "/api/experience/verification/verification-code", map[string]any{"identifier": emailID("g@example.com"), "interactionEvent": "SignIn"},
			http.StatusNotFound, "session.interaction_not_found")
		b.fails("PUT", "/api/experience", map[string]string{"interactionEvent": "Login"}, http.StatusBadRequest, "guard.invalid_input")
		b.event("ForgotPassword")
		b.fails("PUT", "/api/experience/interaction-event", map[string]string{"interactionEvent": "SignIn"}, http.StatusBadRequest, "session.not_supported_for_forgot_password")
		b.event("SignIn")
		b.fails("PUT", "/api/experience/interaction-event", map[string]string{"interactionEvent": "ForgotPassword"}, http.StatusBadRequest, "session.not_supported_for_forgot_password")
		b.fails("POST", "/api/experience/submit", nil, http.StatusNotFound, "session.identifier_not_found")
		b.fails("PUT", "/api/experience/profile/password", map[string]string{"password": "correct horse battery"}, http.StatusBadRequest, "session.invalid_interaction_type")
		b.fails("POST", "/api/experience/verification/verification-code", map[string]any{"identifier": emailID("not an address"), "interactionEvent": "SignIn"},
			http.StatusBadRequest, "guard.invalid_input")

		var sent struct {
			VerificationID string `json:"verificationId"`
			ResendAfter    int    `json:"resendAfter"`
		}
		b.ok("POST", "/api/experience/verification/verification-code", map[string]any{"identifier": emailID("g@example.com"), "interactionEvent": "Register"}, http.StatusOK, &sent)
		if sent.ResendAfter != 60 {
			t.Errorf("resendAfter = %d, want the 60 s cooldown", sent.ResendAfter)
		}
		resp, raw := b.do("POST", "/api/experience/verification/verification-code", map[string]any{"identifier": emailID("G@example.com"), "interactionEvent": "Register"})
		var e apptest.Error
		_ = json.Unmarshal(raw, &e)
		if ra, err := strconv.Atoi(resp.Header.Get("Retry-After")); resp.StatusCode != http.StatusTooManyRequests || e.Code != "verification_code.resend_too_soon" || err != nil || ra < 1 || ra > 60 {
			t.Errorf("a resend within the cooldown: %d %s Retry-After %q, want 429 verification_code.resend_too_soon within 60 s", resp.StatusCode, raw, resp.Header.Get("Retry-After"))
		}
		var v struct {
			InteractionEvent    string
			VerificationRecords []struct {
				ID, Type   string
				Identifier struct{ Type, Value string }
				Verified   bool
			}
		}
		b.ok("GET", "/api/experience/interaction", nil, http.StatusOK, &v)
		if v.InteractionEvent != "SignIn" || len(v.VerificationRecords) != 1 || v.VerificationRecords[0].ID != sent.VerificationID ||
			v.VerificationRecords[0].Type != "EmailVerificationCode" || v.VerificationRecords[0].Verified || v.VerificationRecords[0].Identifier.Value != "g@example.com" {
			t.Errorf("interaction = %+v, want the SignIn event and the unverified code record", v)
		}
	})
}

// TestSignUpWithAPasswordRequired: with signUp.password, identification
// answers user.missing_profile ["password"] after the code, a password the
// policy refuses is password.rejected, and the identification after the
// profile's password creates a user who signs in with it.
func TestSignUpWithAPasswordRequired(t *testing.T) {
	runFlows(t, func(t *testing.T, a *apptest.App) {
		emailSignIn(t, a)
		patchExperience(t, a, map[string]any{"signUp": map[string]any{"identifiers": []string{"email"}, "verify": true, "password": true}})
		const email, pw = "pw.required@example.com", "correct horse battery"
		b := newBrowser(t, a)
		b.event("Register")
		id := b.codeVerified(email, "Register")
		e := b.fails("POST", "/api/experience/identification", map[string]string{"verificationId": id}, http.StatusUnprocessableEntity, "user.missing_profile")
		var data struct{ MissingProfile []string }
		if err := json.Unmarshal(e.Data, &data); err != nil || !slices.Equal(data.MissingProfile, []string{"password"}) {
			t.Fatalf("missing profile data = %s, want [password]", e.Data)
		}
		b.fails("POST", "/api/experience/profile", map[string]string{"type": "password", "value": "short"}, http.StatusUnprocessableEntity, "password.rejected")
		b.ok("POST", "/api/experience/profile", map[string]string{"type": "password", "value": pw}, http.StatusNoContent, nil)
		b.identify("", http.StatusCreated)
		b.signedIn(b.submit())
		us := usersWith(t, a, email)
		if len(us) != 1 || !us[0].HasPassword {
			t.Fatalf("users = %+v, want one with a password", us)
		}
		p := newBrowser(t, a)
		p.event("SignIn")
		p.identify(p.password(email, pw), http.StatusNoContent)
		if p.signedIn(p.submit()).Subject != us[0].ID {
			t.Error("the password sign-in is not the new user's")
		}
	})
}

// TestSignInModeAndForgotPasswordMethodsGuardTheEvents: signInMode SignIn
// refuses Register with 403 auth.forbidden (set or switched to), Register
// refuses SignIn, and without forgotPasswordMethods a reset's
// identification is 422 session.not_supported_for_forgot_password.
func TestSignInModeAndForgotPasswordMethodsGuardTheEvents(t *testing.T) {
	runFlows(t, func(t *testing.T, a *apptest.App) {
		emailSignIn(t, a)
		createUser(t, a, map[string]any{"primaryEmail": "member@example.com"})
		patchExperience(t, a, map[string]any{"signInMode": "SignIn"})
		b := newBrowser(t, a)
		b.fails("PUT", "/api/experience", map[string]string{"interactionEvent": "Register"}, http.StatusForbidden, "auth.forbidden")
		b.event("SignIn")
		b.fails("PUT", "/api/experience/interaction-event", map[string]string{"interactionEvent": "Register"}, http.StatusForbidden, "auth.forbidden")

		patchExperience(t, a, map[string]any{"signInMode": "Register"})
		b.fails("PUT", "/api/experience", map[string]string{"interactionEvent": "SignIn"}, http.StatusForbidden, "auth.forbidden")
		b.event("Register")

		patchExperience(t, a, map[string]any{"signInMode": "SignInAndRegister", "forgotPasswordMethods": []string{}})
		f := newBrowser(t, a)
		f.event("ForgotPassword")
		id := f.codeVerified("member@example.com", "ForgotPassword")
		f.fails("POST", "/api/experience/identification", map[string]string{"verificationId": id}, http.StatusUnprocessableEntity, "session.not_supported_for_forgot_password")
	})
}
