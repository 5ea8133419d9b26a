package api_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/authmail/authmail/internal/app/apptest"
	"github.com/authmail/authmail/internal/apps"
	"github.com/authmail/authmail/internal/experience"
	"github.com/authmail/authmail/internal/tenant"
	"github.com/authmail/authmail/internal/testwait"
)

// runFlows runs fn on SQLite and PostgreSQL, each with its own app.
func runFlows(t *testing.T, fn func(t *testing.T, a *apptest.App), opts ...apptest.Option) {
	t.Helper()
	apptest.ForEachDB(t, func(t *testing.T, dbURL string) { fn(t, apptest.New(t, dbURL, opts...)) })
}

// emailSignIn turns on email sign-up by code, email sign-in by code and
// by password, and password reset by email code.
func emailSignIn(t *testing.T, a *apptest.App) {
	t.Helper()
	patchExperience(t, a, map[string]any{
		"signUp":                map[string]any{"identifiers": []string{"email"}, "verify": true},
		"signIn":                map[string]any{"methods": []map[string]any{{"identifier": "email", "password": true, "verificationCode": true, "isPasswordPrimary": false}}},
		"forgotPasswordMethods": []string{"EmailVerificationCode"},
	})
}

// redirectURI is where the test app is sent back to; nothing listens
// there, since the browser follows no redirect by itself.
const redirectURI = "https://app.example.com/callback"

// browser is one browser's cookies against the app, signing in to an
// application as a real one does: the authorization endpoint with PKCE,
// the interaction, the experience API, the callback, the code exchange
// (x/oauth2) and the ID token checked against the JWKS (go-oidc).
type browser struct {
	t        *testing.T
	a        *apptest.App
	cookies  map[string]string
	header   http.Header
	ctx      context.Context
	provider *gooidc.Provider
	conf     oauth2.Config
	appID    string
	// verifier is the PKCE verifier of the authorization request under
	// way.
	verifier string
	// token is what the last code exchange answered: the access token for
	// userinfo and the account API.
	token *oauth2.Token
}

// newBrowser registers an application (an SPA: public, with PKCE),
// discovers the provider and sends the browser to sign in, so that it
// holds an interaction's cookie.
func newBrowser(t *testing.T, a *apptest.App) *browser {
	t.Helper()
	ctx := gooidc.ClientContext(context.Background(), a.Client)
	created, err := a.App.Apps.Create(ctx, tenant.Default, apps.NewApplication{Name: "Flows", Type: apps.TypeSPA, RedirectURIs: []string{redirectURI}})
	if err != nil {
		t.Fatalf("creating the application: %v", err)
	}
	provider, err := gooidc.NewProvider(ctx, a.BaseURL+"/oidc")
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	b := &browser{t: t, a: a, cookies: map[string]string{}, header: http.Header{}, ctx: ctx, provider: provider, appID: created.Application.ID,
		conf: oauth2.Config{ClientID: created.Application.ID, Endpoint: provider.Endpoint(), RedirectURL: redirectURI,
			Scopes: []string{gooidc.ScopeOpenID, "profile", "email"}}}
	b.conf.Endpoint.AuthStyle = oauth2.AuthStyleInParams
	if to := b.authorize(); to.Path != experience.SignInPage {
		t.Fatalf("the interaction sends a new browser to %s, want the sign-in page", to)
	}
	return b
}

// authorize sends the browser to the authorization endpoint for a new
// request (with PKCE, and params such as prompt or first_screen), through
// the interaction, and returns where the interaction sends it: a hosted
// page, or the callback when its sign-in session answered.
func (b *browser) authorize(params ...oauth2.AuthCodeOption) *url.URL {
	b.t.Helper()
	b.verifier = oauth2.GenerateVerifier()
	opts := append([]oauth2.AuthCodeOption{oauth2.S256ChallengeOption(b.verifier), gooidc.Nonce("the-nonce")}, params...)
	to := b.redirect(b.conf.AuthCodeURL("the-state", opts...))
	if to.Path != "/oidc/interaction" {
		b.t.Fatalf("the authorization endpoint sends the browser to %s, want /oidc/interaction", to)
	}
	return b.redirect(to.String())
}

// redirect GETs a URL with the browser's cookies, keeps those it sets,
// and returns the redirect it answers (resolved against the URL).
func (b *browser) redirect(raw string) *url.URL {
	b.t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		b.t.Fatal(err)
	}
	if !u.IsAbs() {
		u, _ = url.Parse(b.a.BaseURL + raw)
	}
	req, err := http.NewRequest("GET", u.String(), nil)
	if err != nil {
		b.t.Fatal(err)
	}
	b.setCookies(req.Header)
	client := *b.a.Client
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := client.Do(req)
	if err != nil {
		b.t.Fatalf("GET %s: %v", u, err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	b.keepCookies(resp)
	if resp.StatusCode != http.StatusFound {
		b.t.Fatalf("GET %s: %d %.300s, want a redirect", u, resp.StatusCode, body)
	}
	to, err := u.Parse(resp.Header.Get("Location"))
	if err != nil {
		b.t.Fatal(err)
	}
	return to
}

// signedIn follows the redirect submit (or the interaction) gave to the
// application's callback, exchanges the code with the request's verifier
// and returns the ID token, verified against the JWKS.
func (b *browser) signedIn(redirectTo string) *gooidc.IDToken {
	b.t.Helper()
	back := b.redirect(redirectTo)
	if got := back.Scheme + "://" + back.Host + back.Path; got != redirectURI || back.Query().Get("code") == "" || back.Query().Get("state") != "the-state" {
		b.t.Fatalf("the callback sends the browser to %s, want %s with a code and the state", back, redirectURI)
	}
	tok, err := b.conf.Exchange(b.ctx, back.Query().Get("code"), oauth2.VerifierOption(b.verifier))
	if err != nil {
		b.t.Fatalf("exchanging the code: %v", err)
	}
	b.token = tok
	raw, _ := tok.Extra("id_token").(string)
	id, err := b.provider.Verifier(&gooidc.Config{ClientID: b.conf.ClientID}).Verify(b.ctx, raw)
	if err != nil {
		b.t.Fatalf("verifying the ID token: %v", err)
	}
	if id.Nonce != "the-nonce" {
		b.t.Errorf("the ID token's nonce is %q", id.Nonce)
	}
	return id
}

// amr is the ID token's amr claim.
func amr(t *testing.T, id *gooidc.IDToken) []string {
	t.Helper()
	var c struct {
		AMR []string `json:"amr"`
	}
	if err := id.Claims(&c); err != nil {
		t.Fatal(err)
	}
	return c.AMR
}

func (b *browser) setCookies(h http.Header) {
	var parts []string
	for k, v := range b.cookies {
		parts = append(parts, k+"="+v)
	}
	if len(parts) > 0 {
		h.Set("Cookie", strings.Join(parts, "; "))
	}
}

func (b *browser) keepCookies(resp *http.Response) {
	for _, c := range resp.Cookies() {
		if c.MaxAge < 0 || c.Value == "" {
			delete(b.cookies, c.Name)
		} else {
			b.cookies[c.Name] = c.Value
		}
	}
}

// do sends a request with the browser's cookies (never the admin key) and
// keeps the cookies the response sets.
func (b *browser) do(method, path string, body any) (*http.Response, []byte) {
	b.t.Helper()
	h := b.header.Clone()
	b.setCookies(h)
	resp, raw := b.a.Request(method, path, h, body)
	b.keepCookies(resp)
	return resp, raw
}

// ok sends a request and fails the test unless it answers want, decoding
// the body into out when out is not nil.
func (b *browser) ok(method, path string, body any, want int, out any) {
	b.t.Helper()
	resp, raw := b.do(method, path, body)
	if resp.StatusCode != want {
		b.t.Fatalf("%s %s: %d %s, want %d", method, path, resp.StatusCode, raw, want)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			b.t.Fatalf("%s %s: decoding %s: %v", method, path, raw, err)
		}
	}
}

// fails sends a request and fails the test unless it answers status with
// the code; it returns the error.
func (b *browser) fails(method, path string, body any, status int, code string) apptest.Error {
	b.t.Helper()
	resp, raw := b.do(method, path, body)
	var e apptest.Error
	if err := json.Unmarshal(raw, &e); err != nil {
		b.t.Fatalf("%s %s: %d, not a JSON error: %s", method, path, resp.StatusCode, raw)
	}
	if resp.StatusCode != status || e.Code != code {
		b.t.Fatalf("%s %s: %d %s (%s), want %d %s", method, path, resp.StatusCode, e.Code, e.Message, status, code)
	}
	return e
}

func (b *browser) event(event string) {
	b.t.Helper()
	b.ok("PUT", "/api/experience", map[string]string{"interactionEvent": event}, http.StatusNoContent, nil)
}

func emailID(email string) map[string]string {
	return map[string]string{"type": "email", "value": email}
}

// sendCode asks for a code and returns the verificationId.
func (b *browser) sendCode(email, event string) string {
	b.t.Helper()
	var out struct {
		VerificationID string `json:"verificationId"`
		ResendAfter    int    `json:"resendAfter"`
	}
	b.ok("POST", "/api/experience/verification/verification-code", map[string]any{"identifier": emailID(email), "interactionEvent": event}, http.StatusOK, &out)
	if out.VerificationID == "" {
		b.t.Fatalf("no verificationId for %s", email)
	}
	return out.VerificationID
}

// verifyCode gives the code and fails unless it verifies.
func (b *browser) verifyCode(email, id, code string) {
	b.t.Helper()
	var out struct {
		VerificationID string `json:"verificationId"`
	}
	b.ok("POST", "/api/experience/verification/verification-code/verify", map[string]any{"identifier": emailID(email), "verificationId": id, "code": code}, http.StatusOK, &out)
	if out.VerificationID != id {
		b.t.Fatalf("verify answered verificationId %q, want %q", out.VerificationID, id)
	}
}

// codeVerified sends a code for the event, reads it from the dev inbox
// (waiting for a delivery made after the answer) and verifies it.
func (b *browser) codeVerified(email, event string) string {
	b.t.Helper()
	before := len(inbox(b.t, b.a, email))
	id := b.sendCode(email, event)
	b.verifyCode(email, id, newCode(b.t, b.a, email, before))
	return id
}

// newCode waits for a message to email beyond the before it had and
// returns its code.
func newCode(t *testing.T, a *apptest.App, email string, before int) string {
	t.Helper()
	testwait.Until(t, 10*time.Second, func() bool { return len(inbox(t, a, email)) > before }, "no new code in the dev inbox for %s", email)
	return codeFromInbox(t, a, email)
}

// password verifies a password and returns the verificationId.
func (b *browser) password(email, password string) string {
	b.t.Helper()
	var out struct {
		VerificationID string `json:"verificationId"`
	}
	b.ok("POST", "/api/experience/verification/password", map[string]any{"identifier": emailID(email), "password": password}, http.StatusOK, &out)
	return out.VerificationID
}

func (b *browser) identify(id string, want int) {
	b.t.Helper()
	var body any = map[string]string{}
	if id != "" {
		body = map[string]string{"verificationId": id}
	}
	b.ok("POST", "/api/experience/identification", body, want, nil)
}

// submit finishes the interaction and returns redirectTo.
func (b *browser) submit() string {
	b.t.Helper()
	var out struct {
		RedirectTo string `json:"redirectTo"`
	}
	b.ok("POST", "/api/experience/submit", nil, http.StatusOK, &out)
	return out.RedirectTo
}

func createUser(t *testing.T, a *apptest.App, body map[string]any) user {
	t.Helper()
	var u user
	a.JSON("POST", "/api/users", body, http.StatusOK, &u)
	return u
}

func getUser(t *testing.T, a *apptest.App, id string) user {
	t.Helper()
	var u user
	a.JSON("GET", "/api/users/"+id, nil, http.StatusOK, &u)
	return u
}

func usersWith(t *testing.T, a *apptest.App, search string) []user {
	t.Helper()
	var us []user
	a.JSON("GET", "/api/users?search="+search, nil, http.StatusOK, &us)
	return us
}
