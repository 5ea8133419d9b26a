package console_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/authmail/authmail/internal/app/apptest"
	"golang.org/x/net/html"
)

// TestTheSignInExperienceIsChangedThroughLogtosRules: turning on email
// sign-up by code saves (the email proof locked on, whatever the box
// says), adds a sign-in method in the last row, and a setting out of
// range or a broken rule is refused with the reason and saves nothing.
func TestTheSignInExperienceIsChangedThroughLogtosRules(t *testing.T) {
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		v := signedIn(t, a)
		page := v.get("/console/sign-in-experience")
		if page.StatusCode != http.StatusOK || find(page.doc, byID("method-0-identifier")) == nil {
			t.Fatalf("page: %d, no row to add a sign-in method", page.StatusCode)
		}
		r := v.submit(page, "/console/sign-in-experience", "", map[string]string{"signUp.identifier": "email", "signUp.verify": "",
			"method.0.identifier": "email", "method.0.verificationCode": "true", "forgotPassword": "true",
			"verificationCodePolicy.sendLimit": "5"})
		if r.StatusCode != http.StatusSeeOther {
			t.Fatalf("email sign-up by code: %d %s", r.StatusCode, r.alert())
		}
		var exp map[string]any
		a.JSON("GET", "/api/sign-in-exp", nil, http.StatusOK, &exp)
		signUp := exp["signUp"].(map[string]any)
		methods := exp["signIn"].(map[string]any)["methods"].([]any)
		if signUp["verify"] != true || len(methods) != 1 || exp["verificationCodePolicy"].(map[string]any)["sendLimit"] != 5.0 {
			t.Fatalf("saved: signUp %v, methods %v, policy %v", signUp, methods, exp["verificationCodePolicy"])
		}
		page = v.get("/console/sign-in-experience")
		if _, disabled := attr(find(page.doc, byID("signup-verify")), "disabled"); !disabled || page.byIDText("signup-verify-hint") == "" {
			t.Fatal("with an email identifier the email proof is not locked on with its reason")
		}
		r = v.submit(page, "/console/sign-in-experience", "", map[string]string{"verificationCodePolicy.sendLimit": "0"})
		if r.StatusCode != http.StatusBadRequest || r.fieldError("policy-verificationCodePolicy-sendLimit") == "" {
			t.Fatalf("send limit 0: %d %q %s", r.StatusCode, r.fieldError("policy-verificationCodePolicy-sendLimit"), r.alert())
		}
		r = v.submit(page, "/console/sign-in-experience", "", map[string]string{"method.0.verificationCode": ""})
		if r.StatusCode != http.StatusBadRequest || !strings.Contains(r.alert(), "at least one authentication factor") {
			t.Fatalf("a method with no factor: %d %q", r.StatusCode, r.alert())
		}
		a.JSON("GET", "/api/sign-in-exp", nil, http.StatusOK, &exp)
		if exp["verificationCodePolicy"].(map[string]any)["sendLimit"] != 5.0 {
			t.Fatal("a refused save changed the settings")
		}
		if !strings.Contains(v.get("/console/sign-in-experience").body, "Nobody is locked out.") {
			t.Fatal("the lockouts section is missing")
		}
	})
}

// TestALockoutIsListedAndLifted: a client locked out after a wrong code
// is listed with the address, and lifting it lets the right code through.
func TestALockoutIsListedAndLifted(t *testing.T) {
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		a.JSON("PATCH", "/api/sign-in-exp", map[string]any{"verificationCodePolicy": map[string]any{"lockoutFailures": 1}}, http.StatusOK, nil)
		a.JSON("POST", "/api/verification-codes", map[string]any{"email": "locked@example.com"}, http.StatusNoContent, nil)
		code := inbox(t, a, "locked@example.com")[0]["payload"].(map[string]any)["code"].(string)
		wrong := "000000"
		if code == wrong {
			wrong = "111111"
		}
		a.Do("POST", "/api/verification-codes/verify", map[string]any{"email": "locked@example.com", "verificationCode": wrong})
		if st, _ := a.Do("POST", "/api/verification-codes/verify", map[string]any{"email": "locked@example.com", "verificationCode": code}); st != http.StatusTooManyRequests {
			t.Fatalf("the right code after the lockout: %d, want 429", st)
		}
		v := signedIn(t, a)
		page := v.get("/console/sign-in-experience")
		form := find(page.doc, func(n *html.Node) bool {
			act, _ := attr(n, "action")
			return n.Data == "form" && strings.HasPrefix(act, "/console/sign-in-experience/lockouts/")
		})
		if form == nil || !strings.Contains(page.body, "locked@example.com") {
			t.Fatal("the lockout is not listed with its address")
		}
		action, _ := attr(form, "action")
		if r := v.submit(page, action, "", nil); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("lift: %d %s", r.StatusCode, r.alert())
		}
		if st, b := a.Do("POST", "/api/verification-codes/verify", map[string]any{"email": "locked@example.com", "verificationCode": code}); st != http.StatusNoContent {
			t.Fatalf("the right code after the lift: %d %s", st, b)
		}
		if r := v.submit(page, action, "", nil); r.StatusCode != http.StatusNotFound {
			t.Fatalf("lifting it again: %d, want 404", r.StatusCode)
		}
	})
}

// TestTheSignInExperienceChoicesAreNamedInThePagesLanguage: every option
// of the sign-in mode and the MFA policy shows a sentence in English and
// in French, not the setting's value.
func TestTheSignInExperienceChoicesAreNamedInThePagesLanguage(t *testing.T) {
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		labels := map[string]map[string]string{}
		for _, lang := range []string{"en", "fr"} {
			v := signedIn(t, a)
			v.lang = lang
			page := v.get("/console/sign-in-experience")
			for _, id := range []string{"sign-in-mode", "mfa-policy"} {
				sel := find(page.doc, byID(id))
				if sel == nil {
					t.Fatalf("%s: the page has no #%s", lang, id)
				}
				options := findAll(sel, byTag("option"))
				if len(options) < 2 {
					t.Fatalf("%s: #%s offers %d options", lang, id, len(options))
				}
				for _, o := range options {
					value, _ := attr(o, "value")
					label := text(o)
					key := id + "=" + value
					if label == "" || label == value {
						t.Errorf("%s: #%s shows %q for %q", lang, id, label, value)
					}
					if labels[key] == nil {
						labels[key] = map[string]string{}
					}
					labels[key][lang] = label
				}
			}
		}
		for key, by := range labels {
			if by["en"] == by["fr"] {
				t.Errorf("%s is %q in English and in French", key, by["en"])
			}
		}
	})
}
