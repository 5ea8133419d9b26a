package oidc_test

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/authmail/authmail/internal/app/apptest"
	"github.com/authmail/authmail/internal/apps"
	"github.com/authmail/authmail/internal/config"
	"github.com/authmail/authmail/internal/experience"
	"github.com/authmail/authmail/internal/identity"
	"github.com/authmail/authmail/internal/oidc"
	"github.com/authmail/authmail/internal/password"
	"github.com/authmail/authmail/internal/tenant"
)

// authURL is the app's authorization URL with some parameters replaced.
func (r *rp) authURL(set url.Values, opts ...oauth2.AuthCodeOption) string {
	u, err := url.Parse(r.conf.AuthCodeURL("the-state", opts...))
	if err != nil {
		r.t.Fatal(err)
	}
	q := u.Query()
	for k, v := range set {
		if v == nil {
			q.Del(k)
		} else {
			q[k] = v
		}
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// wantPage checks the browser got a page (not a redirect) with the status
// and the words.
func wantPage(t *testing.T, resp *http.Response, body string, status int, words string) {
	t.Helper()
	if resp.StatusCode != status || resp.Header.Get("Location") != "" || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("status %d, Location %q, Content-Type %q; want a %d page; body: %.300s", resp.StatusCode,
			resp.Header.Get("Location"), resp.Header.Get("Content-Type"), status, body)
	}
	if !strings.Contains(body, words) {
		t.Errorf("the page does not say %q: %.500s", words, body)
	}
}

// wantAuthError checks the browser is sent back to the app with an
// OAuth error and the state.
func (r *rp) wantAuthError(rawURL, code string) {
	r.t.Helper()
	back := r.location(r.get(rawURL))
	if got := back.Scheme + "://" + back.Host + back.Path; got != redirectURI || back.Query().Get("error") != code ||
		back.Query().Get("state") != "the-state" {
		r.t.Errorf("sent to %s, want %s?error=%s&state=the-state", back, redirectURI, code)
	}
}

// TestAuthorizationRequestsTheProviderRefuses: a redirect URI the app did
// not register and an unknown client get a page, never a redirect; a
// public client without PKCE, a plain challenge and an unknown resource
// are sent back to the app with the error.
func TestAuthorizationRequestsTheProviderRefuses(t *testing.T) {
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		spa := newRP(t, a, apps.TypeSPA)
		pkce := oauth2.S256ChallengeOption(oauth2.GenerateVerifier())
		for _, bad := range []string{"https://evil.example.com/callback", redirectURI + "/", "https://APP.example.com/callback", redirectURI + "?x=1"} {
			resp, body := spa.get(spa.authURL(url.Values{"redirect_uri": {bad}}, pkce))
			wantPage(t, resp, body, http.StatusBadRequest, "redirect")
		}
		resp, body := spa.get(spa.authURL(url.Values{"client_id": {"nosuchapp"}}, pkce))
		wantPage(t, resp, body, http.StatusBadRequest, "client_id")

		spa.wantAuthError(spa.authURL(nil), "invalid_request")
		spa.wantAuthError(spa.authURL(url.Values{"code_challenge": {"abc"}, "code_challenge_method": {"plain"}}), "invalid_request")
		spa.wantAuthError(spa.authURL(url.Values{"code_challenge": {"abc"}, "code_challenge_method": nil}), "invalid_request")
		spa.wantAuthError(spa.authURL(url.Values{"resource": {"https://unknown.example.com"}}, pkce), "invalid_target")

		// A confidential client may go without PKCE, but not with plain.
		web := newRP(t, a, apps.TypeTraditional)
		web.authorize()
		web.wantAuthError(web.authURL(url.Values{"code_challenge": {"abc"}, "code_challenge_method": {"plain"}}), "invalid_request")

		// A machine-to-machine application cannot sign users in.
		m2m := newRP(t, a, apps.TypeMachineToMachine)
		m2m.wantAuthError(m2m.authURL(nil), "unauthorized_client")
	})
}

// TestACodeIsExchangedOnceWithItsVerifier: a wrong PKCE verifier, none,
// another client, another redirect URI and an expired code are refused;
// a second exchange of a code is refused and revokes what the first one
// got.
func TestACodeIsExchangedOnceWithItsVerifier(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, dbURL string) {
		clock := &apptest.Clock{} // one per database: the subtests run at once
		a := apptest.New(t, dbURL, apptest.WithNow(clock.Now))
		user := newUser(t, a, "alice@example.com")
		r := newRP(t, a, apps.TypeSPA)
		code := func() (string, string) {
			verifier := oauth2.GenerateVerifier()
			return r.signIn(r.authorize(oauth2.S256ChallengeOption(verifier)), user, time.Now()), verifier
		}
		c, _ := code()
		if _, err := r.conf.Exchange(r.ctx, c, oauth2.VerifierOption(oauth2.GenerateVerifier())); oauthError(err) != "invalid_grant" {
			t.Errorf("a wrong verifier: %v, want invalid_grant", err)
		}
		c, _ = code()
		if _, err := r.conf.Exchange(r.ctx, c); oauthError(err) != "invalid_request" {
			t.Errorf("no verifier: %v, want invalid_request", err)
		}
		c, v := code()
		other := newRP(t, a, apps.TypeSPA)
		if _, err := other.conf.Exchange(r.ctx, c, oauth2.VerifierOption(v)); oauthError(err) != "invalid_grant" {
			t.Errorf("another client's code: %v, want invalid_grant", err)
		}
		c, v = code()
		elsewhere := r.conf
		elsewhere.RedirectURL = "https://app.example.com/other"
		if _, err := elsewhere.Exchange(r.ctx, c, oauth2.VerifierOption(v)); oauthError(err) != "invalid_grant" {
			t.Errorf("another redirect URI: %v, want invalid_grant", err)
		}
		c, v = code()
		clock.Advance(oidc.CodeTTL + time.Second)
		if _, err := r.conf.Exchange(r.ctx, c, oauth2.VerifierOption(v)); oauthError(err) != "invalid_grant" {
			t.Errorf("an expired code: %v, want invalid_grant", err)
		}

		c, v = code()
		first, err := r.conf.Exchange(r.ctx, c, oauth2.VerifierOption(v))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.conf.Exchange(r.ctx, c, oauth2.VerifierOption(v)); oauthError(err) != "invalid_grant" {
			t.Fatalf("the second exchange of a code: %v, want invalid_grant", err)
		}
		if _, err := r.userinfo(first.AccessToken); err == nil {
			t.Error("the first exchange's access token still opens userinfo after the code was used again")
		}
		if _, err := r.refresh(first.RefreshToken); oauthError(err) != "invalid_grant" {
			t.Errorf("the first exchange's refresh token after the code was used again: %v, want invalid_grant", err)
		}
	})
}

// TestTheCallbackAnswersOnce: the authorization request's callback gives
// one code; called again, it gives a page and no second code. A request
// nobody signed in for sends the app interaction_required.
func TestTheCallbackAnswersOnce(t *testing.T) {
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		user := newUser(t, a, "alice@example.com")
		r := newRP(t, a, apps.TypeTraditional)
		id := r.authorize()
		callback := a.BaseURL + "/oidc/auth/callback?id=" + url.QueryEscape(id)
		r.wantAuthError(callback, "interaction_required")
		r.signIn(id, user, time.Now())
		resp, body := r.get(callback)
		wantPage(t, resp, body, http.StatusBadRequest, "already completed")
		if _, err := a.App.OIDC.Complete(r.ctx, tenant.Default, id, experience.Login{UserID: user.ID}); !errors.Is(err, oidc.ErrAuthRequestNotFound) {
			t.Errorf("completing a completed request: %v, want ErrAuthRequestNotFound", err)
		}
	})
}

// TestExpiredThingsAreRefused: on the injected clock, an authorization
// request dies after an hour, access and ID tokens after theirs, and a
// refresh token after 14 days.
func TestExpiredThingsAreRefused(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, dbURL string) {
		clock := &apptest.Clock{} // one per database: the subtests run at once
		a := apptest.New(t, dbURL, apptest.WithNow(clock.Now))
		user := newUser(t, a, "alice@example.com")
		r := newRP(t, a, apps.TypeSPA)
		verifier := oauth2.GenerateVerifier()
		stale := r.authorize(oauth2.S256ChallengeOption(verifier))
		tok, _ := r.login(user)

		clock.Advance(oidc.AuthRequestTTL + time.Second)
		if _, err := a.App.OIDC.Complete(r.ctx, tenant.Default, stale, experience.Login{UserID: user.ID}); !errors.Is(err, oidc.ErrAuthRequestNotFound) {
			t.Errorf("completing an expired request: %v, want ErrAuthRequestNotFound", err)
		}
		resp, body := r.get(a.BaseURL + "/oidc/interaction?authRequest=" + url.QueryEscape(stale))
		wantPage(t, resp, body, http.StatusBadRequest, "expired")
		if _, err := r.userinfo(tok.AccessToken); err == nil {
			t.Error("userinfo answered an expired access token")
		}
		if _, err := r.verify(tok, clock.Now); err == nil || !strings.Contains(err.Error(), "expired") {
			t.Errorf("verifying an expired ID token: %v, want it expired", err)
		}
		refreshed, err := r.refresh(tok.RefreshToken)
		if err != nil {
			t.Fatalf("refreshing after an hour: %v", err)
		}
		if _, err := r.verify(refreshed, clock.Now); err != nil {
			t.Errorf("the refreshed ID token, on the same clock: %v", err)
		}
		clock.Advance(oidc.RefreshTokenTTL)
		if _, err := r.refresh(refreshed.RefreshToken); oauthError(err) != "invalid_grant" {
			t.Errorf("a refresh token after 14 days: %v, want invalid_grant", err)
		}
	})
}

// TestTamperedTokensAreRefused: an ID token whose payload or signature
// was changed fails verification against the JWKS, and an access token
// changed by a character opens nothing.
func TestTamperedTokensAreRefused(t *testing.T) {
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		user := newUser(t, a, "alice@example.com")
		r := newRP(t, a, apps.TypeSPA)
		tok, _ := r.login(user)
		raw := tok.Extra("id_token").(string)
		parts := strings.Split(raw, ".")
		payload, err := base64.RawURLEncoding.DecodeString(parts[1])
		if err != nil {
			t.Fatal(err)
		}
		forged := strings.Replace(string(payload), user.ID, "someone-else", 1)
		verifier := r.provider.Verifier(&gooidc.Config{ClientID: r.conf.ClientID})
		for name, token := range map[string]string{
			"payload":   parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(forged)) + "." + parts[2],
			"signature": parts[0] + "." + parts[1] + "." + flip(parts[2]),
		} {
			if _, err := verifier.Verify(r.ctx, token); err == nil {
				t.Errorf("an ID token with a changed %s verified", name)
			}
		}
		if _, err := r.userinfo(flip(tok.AccessToken)); err == nil {
			t.Error("userinfo answered a changed access token")
		}
		if _, err := r.refresh(flip(tok.RefreshToken)); oauthError(err) != "invalid_grant" {
			t.Errorf("a changed refresh token: %v, want invalid_grant", err)
		}
	})
}

// flip changes a token's middle character.
func flip(s string) string {
	b := []byte(s)
	i := len(b) / 2
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}

// TestASuspendedUserGetsNoMoreTokens: once suspended, a user's refresh
// token and code are refused and userinfo answers nothing.
func TestASuspendedUserGetsNoMoreTokens(t *testing.T) {
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		user := newUser(t, a, "alice@example.com")
		r := newRP(t, a, apps.TypeSPA)
		tok, _ := r.login(user)
		verifier := oauth2.GenerateVerifier()
		code := r.signIn(r.authorize(oauth2.S256ChallengeOption(verifier)), user, time.Now())
		if _, err := a.App.Users.SetSuspended(context.Background(), tenant.Default, user.ID, true); err != nil {
			t.Fatal(err)
		}
		if _, err := r.refresh(tok.RefreshToken); oauthError(err) != "invalid_grant" {
			t.Errorf("refreshing for a suspended user: %v, want invalid_grant", err)
		}
		if _, err := r.conf.Exchange(r.ctx, code, oauth2.VerifierOption(verifier)); oauthError(err) != "invalid_grant" {
			t.Errorf("exchanging a code for a suspended user: %v, want invalid_grant", err)
		}
		if _, err := r.userinfo(tok.AccessToken); err == nil {
			t.Error("userinfo answered for a suspended user")
		}
	})
}

// TestAnUnprovedEmailIsNotVerified: email_verified is false in the ID
// token and userinfo for an address an admin set.
func TestAnUnprovedEmailIsNotVerified(t *testing.T) {
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		user, err := a.App.Users.Create(context.Background(), tenant.Default, identity.NewUser{PrimaryEmail: "bob@example.com"}, password.DefaultPolicy())
		if err != nil {
			t.Fatal(err)
		}
		r := newRP(t, a, apps.TypeSPA)
		tok, _ := r.login(user)
		id, err := r.verify(tok, nil)
		if err != nil {
			t.Fatal(err)
		}
		var claims map[string]any
		if err := id.Claims(&claims); err != nil {
			t.Fatal(err)
		}
		if claims["email"] != "bob@example.com" || claims["email_verified"] != false {
			t.Errorf("ID token email %v, email_verified %v; want bob@example.com, false", claims["email"], claims["email_verified"])
		}
		if info, err := r.userinfo(tok.AccessToken); err != nil || info.EmailVerified || info.Email != "bob@example.com" {
			t.Errorf("userinfo = %+v, %v; want the email not verified", info, err)
		}
	})
}

// TestTheProviderCapsEachClient: past --public-request-limit requests a
// minute, a client's requests to /oidc are answered 429 with Retry-After,
// an OAuth error for an app and a page for a browser.
func TestTheProviderCapsEachClient(t *testing.T) {
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		r := newRP(t, a, apps.TypeSPA) // discovery is the first request
		for range 2 {
			if _, err := gooidc.NewProvider(r.ctx, a.BaseURL+"/oidc"); err != nil {
				t.Fatalf("a request within the cap: %v", err)
			}
		}
		status, body := r.post("/oidc/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"x"}})
		if status != http.StatusTooManyRequests || body["error"] != "temporarily_unavailable" {
			t.Errorf("an app's request over the cap: %d %v, want 429 temporarily_unavailable", status, body)
		}
		req, err := http.NewRequest("GET", r.authURL(nil), nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Accept", "text/html,application/xhtml+xml")
		resp, err := r.browser.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" ||
			!strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
			t.Errorf("a browser's request over the cap: %d, Retry-After %q, Content-Type %q", resp.StatusCode,
				resp.Header.Get("Retry-After"), resp.Header.Get("Content-Type"))
		}
	}, apptest.WithSettings(func(s *config.Settings) { s.PublicRequestLimit = 3 }))
}
