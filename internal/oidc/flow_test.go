package oidc_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/authmail/authmail/internal/app/apptest"
	"github.com/authmail/authmail/internal/apps"
	"github.com/authmail/authmail/internal/experience"
)

// api sends a JSON request from the browser (its cookies, no admin key)
// and decodes the answer into out, failing unless the status is want.
func (r *rp) api(method, path string, body any, want int, out any) {
	r.t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		r.t.Fatal(err)
	}
	req, err := http.NewRequest(method, r.a.BaseURL+path, bytes.NewReader(b))
	if err != nil {
		r.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := r.browser.Do(req)
	if err != nil {
		r.t.Fatal(err)
	}
	defer resp.Body.Close()
	var raw json.RawMessage
	_ = json.NewDecoder(resp.Body).Decode(&raw)
	if resp.StatusCode != want {
		r.t.Fatalf("%s %s: %d %s, want %d", method, path, resp.StatusCode, raw, want)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			r.t.Fatal(err)
		}
	}
}

// interact follows the authorization endpoint into the sign-in: the
// browser gets the interaction cookie and is sent where the experience
// says, which it returns.
func (r *rp) interact(opts ...oauth2.AuthCodeOption) *url.URL {
	r.t.Helper()
	id := r.authorize(opts...)
	return r.location(r.get(r.a.BaseURL + "/oidc/interaction?authRequest=" + url.QueryEscape(id)))
}

// signInByCode signs in on the experience API with a code read from the
// dev inbox, and returns where submit sends the browser.
func (r *rp) signInByCode(email string) string {
	r.t.Helper()
	r.api("PUT", "/api/experience", map[string]string{"interactionEvent": "SignIn"}, http.StatusNoContent, nil)
	identifier := map[string]string{"type": "email", "value": email}
	var sent struct {
		VerificationID string `json:"verificationId"`
	}
	r.api("POST", "/api/experience/verification/verification-code", map[string]any{"identifier": identifier, "interactionEvent": "SignIn"},
		http.StatusOK, &sent)
	code := inboxCode(r.t, r.a, email, 1)
	r.api("POST", "/api/experience/verification/verification-code/verify",
		map[string]any{"identifier": identifier, "verificationId": sent.VerificationID, "code": code}, http.StatusOK, nil)
	r.api("POST", "/api/experience/identification", map[string]string{"verificationId": sent.VerificationID}, http.StatusNoContent, nil)
	var done struct {
		RedirectTo string `json:"redirectTo"`
	}
	r.api("POST", "/api/experience/submit", nil, http.StatusOK, &done)
	return done.RedirectTo
}

// codeFrom follows a redirect to the callback and returns the code it
// sends the app.
func (r *rp) codeFrom(next string) string {
	r.t.Helper()
	back := r.location(r.get(next))
	if got := back.Scheme + "://" + back.Host + back.Path; got != redirectURI || back.Query().Get("code") == "" {
		r.t.Fatalf("sent to %s, want %s with a code", back, redirectURI)
	}
	return back.Query().Get("code")
}

// TestAUserSignsInThroughTheExperience: the whole sign-in as a browser
// and an app make it: /oidc/auth, the interaction, the experience API
// with a code from the dev inbox, submit, the callback, the code
// exchange and the ID token verified against the JWKS; the sign-in
// session then answers the next authorization without a sign-in,
// prompt=login asks again, prompt=none without a session sends the app
// login_required, and the end of the session ends it.
func TestAUserSignsInThroughTheExperience(t *testing.T) {
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		a.JSON("PATCH", "/api/sign-in-exp", map[string]any{
			"signIn": map[string]any{"methods": []map[string]any{{"identifier": "email", "password": false, "verificationCode": true, "isPasswordPrimary": false}}},
		}, http.StatusOK, nil)
		user := newUser(t, a, "alice@example.com")
		r := newRP(t, a, apps.TypeSPA)

		verifier := oauth2.GenerateVerifier()
		pkce := oauth2.S256ChallengeOption(verifier)
		page := r.interact(pkce, gooidc.Nonce("n1"), oauth2.SetAuthURLParam("ui_locales", "fr"))
		if page.Path != "/sign-in" {
			t.Fatalf("the interaction sends the browser to %s, want the sign-in page", page)
		}
		tok, err := r.conf.Exchange(r.ctx, r.codeFrom(r.signInByCode("alice@example.com")), oauth2.VerifierOption(verifier))
		if err != nil {
			t.Fatalf("exchanging the code: %v", err)
		}
		id, err := r.verify(tok, nil)
		if err != nil {
			t.Fatal(err)
		}
		var claims struct {
			Email         string   `json:"email"`
			EmailVerified bool     `json:"email_verified"`
			AMR           []string `json:"amr"`
		}
		if err := id.Claims(&claims); err != nil {
			t.Fatal(err)
		}
		if id.Subject != user.ID || id.Nonce != "n1" || claims.Email != "alice@example.com" || !claims.EmailVerified ||
			!slices.Equal(claims.AMR, []string{experience.AMRCode}) || time.Since(id.IssuedAt) > time.Minute {
			t.Errorf("the ID token: sub %s nonce %s claims %+v", id.Subject, id.Nonce, claims)
		}

		// The sign-in session answers the next authorization at once.
		verifier = oauth2.GenerateVerifier()
		next := r.interact(oauth2.S256ChallengeOption(verifier))
		if next.Path != "/oidc/auth/callback" {
			t.Fatalf("with a sign-in session the interaction sends the browser to %s, want the callback", next)
		}
		again, err := r.conf.Exchange(r.ctx, r.codeFrom(next.String()), oauth2.VerifierOption(verifier))
		if err != nil {
			t.Fatal(err)
		}
		if id, err := r.verify(again, nil); err != nil || id.Subject != user.ID {
			t.Errorf("the session's sign-in: %v, %v", id, err)
		}
		if page := r.interact(pkce, oauth2.SetAuthURLParam("prompt", "login")); page.Path != "/sign-in" {
			t.Errorf("prompt=login sends the browser to %s, want the sign-in page", page)
		}

		// Ending the session ends it.
		r.location(r.get(a.BaseURL + "/oidc/session/end?client_id=" + url.QueryEscape(r.app.ID)))
		if page := r.interact(pkce); page.Path != "/sign-in" {
			t.Errorf("after the end of the session the interaction sends the browser to %s, want the sign-in page", page)
		}
		id2 := r.authorize(pkce, oauth2.SetAuthURLParam("prompt", "none"))
		r.wantAuthError(a.BaseURL+"/oidc/interaction?authRequest="+url.QueryEscape(id2), "login_required")
	})
}

// TestEndingASessionRedirectsOnlyWhereTheAppSays: /oidc/session/end sends
// the browser to the post_logout_redirect_uri the app registered, exactly,
// with the state; an unregistered one gets a page and no redirect;
// without one the browser sees the signed-out page.
func TestEndingASessionRedirectsOnlyWhereTheAppSays(t *testing.T) {
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		r := newRP(t, a, apps.TypeSPA)
		end := a.BaseURL + "/oidc/session/end?"
		to := r.location(r.get(end + url.Values{"client_id": {r.app.ID}, "post_logout_redirect_uri": {"https://app.example.com/signed-out"},
			"state": {"s1"}}.Encode()))
		if to.String() != "https://app.example.com/signed-out?state=s1" {
			t.Errorf("after the end of the session the browser goes to %s", to)
		}
		for _, bad := range []string{"https://evil.example.com/", "https://app.example.com/signed-out/"} {
			resp, body := r.get(end + url.Values{"client_id": {r.app.ID}, "post_logout_redirect_uri": {bad}}.Encode())
			wantPage(t, resp, body, http.StatusBadRequest, "post_logout_redirect_uri")
		}
		to = r.location(r.get(end))
		if to.Path != "/oidc/session/end/success" {
			t.Fatalf("without a redirect URI the browser goes to %s, want the signed-out page", to)
		}
		resp, body := r.get(to.String())
		wantPage(t, resp, body, http.StatusOK, "signed out")
	})
}
