package oidc_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/authmail/authmail/internal/app/apptest"
	"github.com/authmail/authmail/internal/apps"
	"github.com/authmail/authmail/internal/config"
	"github.com/authmail/authmail/internal/experience"
	"github.com/authmail/authmail/internal/testwait"
)

// headless is an app signing a user in without redirects: it starts an
// interaction with its credentials and makes the experience steps with
// the interaction token, as a native or server app does.
type headless struct {
	r     *rp
	token string
	// verifier is a Native app's PKCE verifier, "" for a Traditional app.
	verifier string
}

// answer is an API answer: its status and body.
type answer struct {
	status int
	body   []byte
}

// code is the answer's error code, "" when it is none.
func (a answer) code() string {
	var e struct {
		Code string `json:"code"`
	}
	_ = json.Unmarshal(a.body, &e)
	return e.Code
}

// want fails unless the answer is status (with the error code when code
// is not "").
func (a answer) want(t *testing.T, what string, status int, code string) {
	t.Helper()
	if a.status != status || (code != "" && a.code() != code) {
		t.Fatalf("%s: %d %s, want %d %s", what, a.status, a.body, status, code)
	}
}

// startDirect posts body to POST /api/experience/direct.
func startDirect(a *apptest.App, header http.Header, body any) answer {
	resp, b := a.Request("POST", "/api/experience/direct", header, body)
	return answer{resp.StatusCode, b}
}

// start begins a sign-in without redirects as r's app: with its secret
// (in HTTP Basic) for a Traditional app, with a fresh PKCE challenge for
// a Native one.
func (r *rp) startHeadless(extra map[string]any) *headless {
	r.t.Helper()
	h := &headless{r: r}
	body := map[string]any{"scope": "openid profile email offline_access", "nonce": "the-nonce"}
	header := http.Header{}
	if r.conf.ClientSecret != "" {
		header.Set("Authorization", "Basic "+basic(r.conf.ClientID, r.conf.ClientSecret))
	} else {
		h.verifier = oauth2.GenerateVerifier()
		body["clientId"], body["codeChallenge"], body["codeChallengeMethod"] = r.conf.ClientID, oauth2.S256ChallengeFromVerifier(h.verifier), "S256"
	}
	for k, v := range extra {
		body[k] = v
	}
	got := startDirect(r.a, header, body)
	got.want(r.t, "starting a sign-in without redirects", http.StatusOK, "")
	var started experience.DirectStarted
	if err := json.Unmarshal(got.body, &started); err != nil {
		r.t.Fatal(err)
	}
	if started.InteractionToken == "" || started.TokenType != "Bearer" || started.ExpiresIn != 3600 {
		r.t.Fatalf("the start answers %s", got.body)
	}
	h.token = started.InteractionToken
	return h
}

// basic is an HTTP Basic credential, form-encoded first (RFC 6749).
func basic(id, secret string) string {
	req, _ := http.NewRequest("GET", "/", nil)
	req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	return strings.TrimPrefix(req.Header.Get("Authorization"), "Basic ")
}

// call makes an experience step with the interaction token.
func (h *headless) call(method, path string, body any) answer {
	h.r.t.Helper()
	resp, b := h.r.a.Request(method, path, http.Header{"Authorization": {"Bearer " + h.token}}, body)
	if c := resp.Header.Get("Set-Cookie"); c != "" {
		h.r.t.Errorf("%s %s sets a cookie for an app without a browser: %s", method, path, c)
	}
	return answer{resp.StatusCode, b}
}

// identifyByCode sets SignIn and identifies the user by a code read from
// the dev inbox.
func (h *headless) identifyByCode(email string) {
	t := h.r.t
	t.Helper()
	h.call("PUT", "/api/experience", map[string]string{"interactionEvent": "SignIn"}).want(t, "PUT /api/experience", http.StatusNoContent, "")
	identifier := map[string]string{"type": "email", "value": email}
	sent := h.call("POST", "/api/experience/verification/verification-code", map[string]any{"identifier": identifier, "interactionEvent": "SignIn"})
	sent.want(t, "sending a code", http.StatusOK, "")
	var rec struct {
		VerificationID string `json:"verificationId"`
	}
	if err := json.Unmarshal(sent.body, &rec); err != nil {
		t.Fatal(err)
	}
	code := inboxCode(t, h.r.a, email, 1)
	h.call("POST", "/api/experience/verification/verification-code/verify",
		map[string]any{"identifier": identifier, "verificationId": rec.VerificationID, "code": code}).want(t, "verifying the code", http.StatusOK, "")
	h.call("POST", "/api/experience/identification", map[string]string{"verificationId": rec.VerificationID}).want(t, "identifying", http.StatusNoContent, "")
}

// inboxCode waits for the n-th message to email in the dev inbox and
// returns the code of the newest.
func inboxCode(t *testing.T, a *apptest.App, email string, n int) string {
	t.Helper()
	var code string
	testwait.Until(t, 10*time.Second, func() bool {
		var inbox []struct {
			Payload map[string]any `json:"payload"`
		}
		a.JSON("GET", "/api/dev-inbox/messages?to="+url.QueryEscape(email), nil, http.StatusOK, &inbox)
		if len(inbox) >= n {
			code, _ = inbox[0].Payload["code"].(string)
		}
		return code != ""
	}, "no code in the dev inbox for %s", email)
	return code
}

// submit finishes the interaction, with the app's verifier.
func (h *headless) submit() answer {
	h.r.t.Helper()
	var body any
	if h.verifier != "" {
		body = map[string]string{"codeVerifier": h.verifier}
	}
	return h.call("POST", "/api/experience/submit", body)
}

// tokens decodes a submit's tokens.
func tokens(t *testing.T, got answer) *oauth2.Token {
	t.Helper()
	got.want(t, "submitting", http.StatusOK, "")
	var out experience.Submitted
	if err := json.Unmarshal(got.body, &out); err != nil {
		t.Fatal(err)
	}
	if out.RedirectTo != "" || out.AccessToken == "" || out.IDToken == "" || out.TokenType != "Bearer" || out.ExpiresIn == 0 {
		t.Fatalf("the submit answers %s, want tokens and no redirect", got.body)
	}
	tok := &oauth2.Token{AccessToken: out.AccessToken, TokenType: out.TokenType, RefreshToken: out.RefreshToken}
	return tok.WithExtra(map[string]any{"id_token": out.IDToken})
}

// TestAppsSignUsInWithoutRedirects: a Traditional app (its client secret)
// and a Native app (PKCE) each start an interaction without a browser,
// sign a user in by email code with the interaction token, and get from
// submit an ID token that verifies against the JWKS (issuer, audience,
// nonce, subject, amr, email), an access token userinfo answers, and a
// refresh token the token endpoint rotates; the interaction token is dead
// after submit, no sign-in session is opened and no cookie set.
func TestAppsSignUsInWithoutRedirects(t *testing.T) {
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		a.JSON("PATCH", "/api/sign-in-exp", map[string]any{
			"signIn": map[string]any{"methods": []map[string]any{{"identifier": "email", "password": false, "verificationCode": true, "isPasswordPrimary": false}}},
		}, http.StatusOK, nil)
		user := newUser(t, a, "alice@example.com")
		for _, typ := range []apps.Type{apps.TypeTraditional, apps.TypeNative} {
			r := newRP(t, a, typ)
			h := r.startHeadless(map[string]any{"uiLocales": "fr"})
			var view experience.View
			h.call("PUT", "/api/experience", map[string]string{"interactionEvent": "SignIn"}).want(t, "PUT", http.StatusNoContent, "")
			got := h.call("GET", "/api/experience/interaction", nil)
			got.want(t, "GET /api/experience/interaction", http.StatusOK, "")
			if err := json.Unmarshal(got.body, &view); err != nil || view.InteractionEvent != experience.EventSignIn {
				t.Fatalf("%s: the interaction is %s (%v)", typ, got.body, err)
			}
			h.identifyByCode("alice@example.com")
			tok := tokens(t, h.submit())
			id, err := r.verify(tok, nil)
			if err != nil {
				t.Fatalf("%s: the ID token does not verify against the JWKS: %v", typ, err)
			}
			var claims struct {
				Email string   `json:"email"`
				AMR   []string `json:"amr"`
				AZP   string   `json:"azp"`
			}
			if err := id.Claims(&claims); err != nil {
				t.Fatal(err)
			}
			if id.Subject != user.ID || id.Nonce != "the-nonce" || id.Issuer != a.BaseURL+"/oidc" || !slices.Equal(id.Audience, []string{r.app.ID}) ||
				claims.Email != "alice@example.com" || !slices.Equal(claims.AMR, []string{experience.AMRCode}) || claims.AZP != r.app.ID {
				t.Errorf("%s: the ID token: sub %s nonce %s aud %v claims %+v", typ, id.Subject, id.Nonce, id.Audience, claims)
			}
			if err := id.VerifyAccessToken(tok.AccessToken); err != nil {
				t.Errorf("%s: at_hash: %v", typ, err)
			}
			if info, err := r.userinfo(tok.AccessToken); err != nil || info.Subject != user.ID {
				t.Errorf("%s: userinfo with the access token: %v, %v", typ, info, err)
			}
			if tok.RefreshToken == "" {
				t.Fatalf("%s: no refresh token with offline_access", typ)
			}
			next, err := r.refresh(tok.RefreshToken)
			if err != nil {
				t.Fatalf("%s: refreshing at /oidc/token: %v", typ, err)
			}
			if id, err := r.verify(next, nil); err != nil || id.Subject != user.ID {
				t.Errorf("%s: the refreshed ID token: %v, %v", typ, id, err)
			}

			// The token is dead: its interaction ended with the submit.
			h.submit().want(t, string(typ)+": a second submit", http.StatusBadRequest, "session.not_found")
			h.call("PUT", "/api/experience", map[string]string{"interactionEvent": "SignIn"}).want(t, "a step after submit", http.StatusBadRequest, "session.not_found")
		}
		var sessions int
		if err := a.App.Store.WriteDB().QueryRow(`SELECT count(*) FROM sign_in_sessions`).Scan(&sessions); err != nil {
			t.Fatal(err)
		}
		if sessions != 0 {
			t.Errorf("sign-ins without redirects opened %d sign-in sessions, want none", sessions)
		}
	})
}

// TestSignInWithoutRedirectsRefusesWhatItMust: a wrong secret and an
// unknown client ID are one 401 oidc.invalid_client; an SPA and a
// machine-to-machine app are refused; a Native app needs an S256
// challenge; openid is required. At submit a wrong verifier and none are
// refused and change nothing (the right one then signs in), so a stolen
// interaction token alone gets no tokens; a token is no cookie and a
// cookie no token.
func TestSignInWithoutRedirectsRefusesWhatItMust(t *testing.T) {
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		a.JSON("PATCH", "/api/sign-in-exp", map[string]any{
			"signIn": map[string]any{"methods": []map[string]any{{"identifier": "email", "password": false, "verificationCode": true, "isPasswordPrimary": false}}},
		}, http.StatusOK, nil)
		newUser(t, a, "alice@example.com")
		web, native := newRP(t, a, apps.TypeTraditional), newRP(t, a, apps.TypeNative)
		challenge := oauth2.S256ChallengeFromVerifier(oauth2.GenerateVerifier())
		scope := "openid offline_access"

		wrong := startDirect(a, http.Header{"Authorization": {"Basic " + basic(web.app.ID, "not-the-secret")}}, map[string]any{"scope": scope})
		wrong.want(t, "a wrong secret", http.StatusUnauthorized, "oidc.invalid_client")
		unknown := startDirect(a, nil, map[string]any{"clientId": "no-such-app", "clientSecret": "x", "scope": scope})
		unknown.want(t, "an unknown client ID", http.StatusUnauthorized, "oidc.invalid_client")
		if string(wrong.body) != string(unknown.body) {
			t.Errorf("a wrong secret answers %s, an unknown client %s: they must not tell apart", wrong.body, unknown.body)
		}
		startDirect(a, nil, map[string]any{"clientId": web.app.ID, "scope": scope}).want(t, "a Traditional app without its secret", http.StatusUnauthorized, "oidc.invalid_client")
		for _, typ := range []apps.Type{apps.TypeSPA, apps.TypeMachineToMachine} {
			r := newRP(t, a, typ)
			body := map[string]any{"clientId": r.app.ID, "clientSecret": r.conf.ClientSecret, "codeChallenge": challenge, "codeChallengeMethod": "S256", "scope": scope}
			startDirect(a, nil, body).want(t, "an app of type "+string(typ), http.StatusBadRequest, "oidc.unauthorized_client")
		}
		startDirect(a, nil, map[string]any{"clientId": native.app.ID, "scope": scope}).want(t, "a Native app without a challenge", http.StatusBadRequest, "oidc.invalid_request")
		startDirect(a, nil, map[string]any{"clientId": native.app.ID, "codeChallenge": challenge, "codeChallengeMethod": "plain", "scope": scope}).
			want(t, "a plain challenge", http.StatusBadRequest, "oidc.invalid_request")
		startDirect(a, nil, map[string]any{"clientId": native.app.ID, "codeChallenge": challenge, "codeChallengeMethod": "S256", "scope": "email"}).
			want(t, "no openid scope", http.StatusBadRequest, "oidc.invalid_scope")
		startDirect(a, nil, map[string]any{"clientId": native.app.ID, "codeChallenge": challenge, "codeChallengeMethod": "S256", "scope": scope, "resource": "https://no-such-api.example.com"}).
			want(t, "an unknown resource", http.StatusBadRequest, "oidc.invalid_target")

		h := native.startHeadless(nil)
		h.identifyByCode("alice@example.com")
		right := h.verifier
		h.verifier = oauth2.GenerateVerifier()
		h.submit().want(t, "a wrong verifier", http.StatusBadRequest, "oidc.invalid_grant")
		h.call("POST", "/api/experience/submit", nil).want(t, "no verifier", http.StatusBadRequest, "oidc.invalid_request")
		resp, b := a.Request("POST", "/api/experience/submit", http.Header{"Cookie": {experience.InteractionCookie + "=" + h.token}},
			map[string]string{"codeVerifier": right})
		answer{resp.StatusCode, b}.want(t, "the interaction token as a cookie", http.StatusBadRequest, "session.not_found")
		h.verifier = right
		if id, err := native.verify(tokens(t, h.submit()), nil); err != nil || id.Nonce != "the-nonce" {
			t.Errorf("after the refusals the right verifier signs in: %v, %v", id, err)
		}

		// A browser's interaction cookie is no interaction token.
		cookie := r0cookie(t, native)
		resp, b = a.Request("PUT", "/api/experience", http.Header{"Authorization": {"Bearer " + cookie}}, map[string]string{"interactionEvent": "SignIn"})
		answer{resp.StatusCode, b}.want(t, "a browser's cookie as an interaction token", http.StatusBadRequest, "session.not_found")
	})
}

// r0cookie starts a browser's interaction for r's app and returns its
// _interaction cookie.
func r0cookie(t *testing.T, r *rp) string {
	t.Helper()
	r.interact(oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))
	u, _ := url.Parse(r.a.BaseURL)
	for _, c := range r.browser.Jar.Cookies(u) {
		if c.Name == experience.InteractionCookie {
			return c.Value
		}
	}
	t.Fatal("the browser has no interaction cookie")
	return ""
}

// TestAnInteractionTokenEndsWithItsInteraction: an hour after the start
// the interaction token is refused (session.not_found) at every step.
func TestAnInteractionTokenEndsWithItsInteraction(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, dbURL string) {
		clock := &apptest.Clock{} // one per database: the subtests run at once
		a := apptest.New(t, dbURL, apptest.WithNow(clock.Now))
		h := newRP(t, a, apps.TypeTraditional).startHeadless(nil)
		h.call("PUT", "/api/experience", map[string]string{"interactionEvent": "SignIn"}).want(t, "PUT before the hour", http.StatusNoContent, "")
		clock.Advance(experience.InteractionTTL + time.Second)
		h.call("GET", "/api/experience/interaction", nil).want(t, "GET after the hour", http.StatusBadRequest, "session.not_found")
		h.submit().want(t, "submit after the hour", http.StatusBadRequest, "session.not_found")
	})
}

// TestEachAppHasItsOwnCap: the starts and steps of one application's
// sign-ins without redirects count toward its cap (--app-request-limit),
// over which they are 429 request.too_many_requests naming the
// application; another application from the same client is not held,
// and starts with a wrong secret do not count.
func TestEachAppHasItsOwnCap(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, dbURL string) {
		a := apptest.New(t, dbURL, apptest.WithSettings(func(s *config.Settings) { s.AppRequestLimit = 3 }))
		web, other := newRP(t, a, apps.TypeTraditional), newRP(t, a, apps.TypeTraditional)
		for range 5 {
			startDirect(a, http.Header{"Authorization": {"Basic " + basic(web.app.ID, "not-the-secret")}}, map[string]any{"scope": "openid"}).
				want(t, "a wrong secret", http.StatusUnauthorized, "oidc.invalid_client")
		}
		h := web.startHeadless(nil)                                                                                                   // 1
		h.call("PUT", "/api/experience", map[string]string{"interactionEvent": "SignIn"}).want(t, "a step", http.StatusNoContent, "") // 2
		web.startHeadless(nil)                                                                                                        // 3
		over := h.call("GET", "/api/experience/interaction", nil)
		over.want(t, "a step over the cap", http.StatusTooManyRequests, "request.too_many_requests")
		if !strings.Contains(string(over.body), "this application") {
			t.Errorf("the refusal does not say the application's cap is reached: %s", over.body)
		}
		header := http.Header{"Authorization": {"Basic " + basic(web.conf.ClientID, web.conf.ClientSecret)}}
		startDirect(a, header, map[string]any{"scope": "openid"}).want(t, "a start over the cap", http.StatusTooManyRequests, "request.too_many_requests")
		other.startHeadless(nil)
	})
}

// TestSignInWithoutRedirectsTakesTheBrowsersSteps: a password sign-in
// with the interaction token answers as a browser's does (a wrong
// password and an unknown address are one 422, a code to an unknown
// address is answered as one to a known address), and an app that named a
// resource gets a JWT access token for it, signed with the keys of the
// JWKS, beside an ID token saying the password was used.
func TestSignInWithoutRedirectsTakesTheBrowsersSteps(t *testing.T) {
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		a.JSON("PATCH", "/api/sign-in-exp", map[string]any{
			"signIn": map[string]any{"methods": []map[string]any{{"identifier": "email", "password": true, "verificationCode": true, "isPasswordPrimary": true}}},
		}, http.StatusOK, nil)
		user := newUser(t, a, "alice@example.com")
		a.JSON("PATCH", "/api/users/"+user.ID+"/password", map[string]string{"password": "correct horse battery"}, http.StatusOK, nil)
		const api = "https://api.example.com"
		a.JSON("POST", "/api/resources", map[string]string{"name": "Example API", "indicator": api}, http.StatusCreated, nil)
		r := newRP(t, a, apps.TypeTraditional)
		h := r.startHeadless(map[string]any{"resource": api})
		h.call("PUT", "/api/experience", map[string]string{"interactionEvent": "SignIn"}).want(t, "PUT", http.StatusNoContent, "")

		password := func(email, pw string) answer {
			return h.call("POST", "/api/experience/verification/password", map[string]any{"identifier": map[string]string{"type": "email", "value": email}, "password": pw})
		}
		wrong, unknown := password("alice@example.com", "not the password"), password("nobody@example.com", "correct horse battery")
		wrong.want(t, "a wrong password", http.StatusUnprocessableEntity, "session.invalid_credentials")
		unknown.want(t, "an unknown address", http.StatusUnprocessableEntity, "session.invalid_credentials")
		if string(wrong.body) != string(unknown.body) {
			t.Errorf("a wrong password answers %s, an unknown address %s", wrong.body, unknown.body)
		}
		send := func(email string) answer {
			return h.call("POST", "/api/experience/verification/verification-code", map[string]any{"identifier": map[string]string{"type": "email", "value": email}, "interactionEvent": "SignIn"})
		}
		for _, email := range []string{"alice@example.com", "nobody@example.com"} {
			got := send(email)
			got.want(t, "a code to "+email, http.StatusOK, "")
			var sent map[string]any
			if err := json.Unmarshal(got.body, &sent); err != nil || sent["verificationId"] == "" || sent["resendAfter"] == nil {
				t.Errorf("a code to %s answers %s", email, got.body)
			}
		}

		ok := password("alice@example.com", "correct horse battery")
		ok.want(t, "the right password", http.StatusOK, "")
		var rec struct {
			VerificationID string `json:"verificationId"`
		}
		if err := json.Unmarshal(ok.body, &rec); err != nil {
			t.Fatal(err)
		}
		h.call("POST", "/api/experience/identification", map[string]string{"verificationId": rec.VerificationID}).want(t, "identifying", http.StatusNoContent, "")
		tok := tokens(t, h.submit())
		id, err := r.verify(tok, nil)
		if err != nil {
			t.Fatal(err)
		}
		var claims struct {
			AMR []string `json:"amr"`
		}
		if err := id.Claims(&claims); err != nil || !slices.Equal(claims.AMR, []string{experience.AMRPassword}) {
			t.Errorf("the ID token's amr: %v (%v), want the password", claims.AMR, err)
		}
		access, err := r.provider.Verifier(&gooidc.Config{ClientID: api}).Verify(r.ctx, tok.AccessToken)
		if err != nil {
			t.Fatalf("the access token for the resource does not verify against the JWKS: %v", err)
		}
		if access.Subject != user.ID {
			t.Errorf("the access token's subject is %s, want %s", access.Subject, user.ID)
		}
	})
}

// TestSignInWithoutRedirectsAsksForTheSecondFactor: with the email code as
// the second factor, a Native app's password sign-in is asked for it at
// submit (403 session.mfa.require_mfa_verification, nothing issued), gets
// the code through the same steps with its interaction token, and then
// its ID token says both factors were used.
func TestSignInWithoutRedirectsAsksForTheSecondFactor(t *testing.T) {
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		a.JSON("PATCH", "/api/sign-in-exp", map[string]any{
			"signUp": map[string]any{"identifiers": []string{"email"}, "verify": true, "password": true},
			"signIn": map[string]any{"methods": []map[string]any{{"identifier": "email", "password": true, "verificationCode": false, "isPasswordPrimary": true}}},
			"mfa":    map[string]any{"factors": []string{"EmailVerificationCode"}, "policy": "PromptAtSignInAndSignUp"},
		}, http.StatusOK, nil)
		user := newUser(t, a, "alice@example.com")
		a.JSON("PATCH", "/api/users/"+user.ID+"/password", map[string]string{"password": "correct horse battery"}, http.StatusOK, nil)
		r := newRP(t, a, apps.TypeNative)
		h := r.startHeadless(nil)
		h.call("PUT", "/api/experience", map[string]string{"interactionEvent": "SignIn"}).want(t, "PUT", http.StatusNoContent, "")
		var rec struct {
			VerificationID string `json:"verificationId"`
		}
		pw := h.call("POST", "/api/experience/verification/password", map[string]any{"identifier": map[string]string{"type": "email", "value": "alice@example.com"}, "password": "correct horse battery"})
		pw.want(t, "the password", http.StatusOK, "")
		if err := json.Unmarshal(pw.body, &rec); err != nil {
			t.Fatal(err)
		}
		h.call("POST", "/api/experience/identification", map[string]string{"verificationId": rec.VerificationID}).want(t, "identifying", http.StatusNoContent, "")
		h.submit().want(t, "submit before the second factor", http.StatusForbidden, "session.mfa.require_mfa_verification")

		sent := h.call("POST", "/api/experience/verification/mfa-verification-code", map[string]string{"identifierType": "email"})
		sent.want(t, "sending the second-factor code", http.StatusOK, "")
		if err := json.Unmarshal(sent.body, &rec); err != nil {
			t.Fatal(err)
		}
		code := inboxCode(t, a, "alice@example.com", 1)
		h.call("POST", "/api/experience/verification/mfa-verification-code/verify",
			map[string]string{"verificationId": rec.VerificationID, "code": code, "identifierType": "email"}).want(t, "verifying the second factor", http.StatusOK, "")
		id, err := r.verify(tokens(t, h.submit()), nil)
		if err != nil {
			t.Fatal(err)
		}
		var claims struct {
			AMR []string `json:"amr"`
		}
		if err := id.Claims(&claims); err != nil || !slices.Contains(claims.AMR, experience.AMRPassword) || !slices.Contains(claims.AMR, "mfa") {
			t.Errorf("the ID token's amr is %v (%v), want the password and the second factor", claims.AMR, err)
		}
	})
}
