package oidc_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/authmail/authmail/internal/app/apptest"
	"github.com/authmail/authmail/internal/apps"
	"github.com/authmail/authmail/internal/experience"
	"github.com/authmail/authmail/internal/identity"
	"github.com/authmail/authmail/internal/password"
	"github.com/authmail/authmail/internal/tenant"
)

// redirectURI is where the test apps are sent back to; nothing listens
// there, since the browser here follows no redirect.
const redirectURI = "https://app.example.com/callback"

// rp is an app signing users in through the provider, as a real one does:
// go-oidc for discovery and the ID token, x/oauth2 for the code and the
// tokens, and a browser that follows no redirect.
type rp struct {
	t        *testing.T
	a        *apptest.App
	ctx      context.Context
	provider *gooidc.Provider
	conf     oauth2.Config
	app      apps.Application
	browser  *http.Client
}

// newRP registers an application of the type and discovers the provider.
func newRP(t *testing.T, a *apptest.App, typ apps.Type) *rp {
	t.Helper()
	ctx := gooidc.ClientContext(context.Background(), a.Client)
	created, err := a.App.Apps.Create(ctx, tenant.Default, apps.NewApplication{Name: "Test " + string(typ), Type: typ,
		RedirectURIs: []string{redirectURI}, PostLogoutRedirectURIs: []string{"https://app.example.com/signed-out"}})
	if err != nil {
		t.Fatalf("creating the application: %v", err)
	}
	provider, err := gooidc.NewProvider(ctx, a.BaseURL+"/oidc")
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	browser := *a.Client
	browser.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	if browser.Jar, err = cookiejar.New(nil); err != nil {
		t.Fatal(err)
	}
	r := &rp{t: t, a: a, ctx: ctx, provider: provider, app: created.Application, browser: &browser,
		conf: oauth2.Config{ClientID: created.Application.ID, ClientSecret: created.Secret, Endpoint: provider.Endpoint(),
			RedirectURL: redirectURI, Scopes: []string{gooidc.ScopeOpenID, "profile", "email", gooidc.ScopeOfflineAccess}}}
	// Not oauth2's guess, which repeats a refused request the other way
	// (and so uses a code twice).
	r.conf.Endpoint.AuthStyle = oauth2.AuthStyleInParams
	if created.Secret != "" {
		r.conf.Endpoint.AuthStyle = oauth2.AuthStyleInHeader
	}
	return r
}

// newUser creates a user who proved their email (as a sign-up by code
// does).
func newUser(t *testing.T, a *apptest.App, email string) identity.User {
	t.Helper()
	u, err := a.App.Users.Create(context.Background(), tenant.Default, identity.NewUser{PrimaryEmail: email, EmailVerified: true,
		Name: "Alice Liddell", Username: "alice"}, password.DefaultPolicy())
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// get is the browser's GET: it follows no redirect.
func (r *rp) get(rawURL string) (*http.Response, string) {
	r.t.Helper()
	resp, err := r.browser.Get(rawURL)
	if err != nil {
		r.t.Fatalf("GET %s: %v", rawURL, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// location is a redirect's target, failing unless the answer is one.
func (r *rp) location(resp *http.Response, body string) *url.URL {
	r.t.Helper()
	if resp.StatusCode != http.StatusFound {
		r.t.Fatalf("%s: status %d, want a redirect; body: %.500s", resp.Request.URL, resp.StatusCode, body)
	}
	u, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		r.t.Fatal(err)
	}
	return u
}

// authorize sends the browser to the authorization endpoint and returns
// the authorization request it is sent to sign in for.
func (r *rp) authorize(opts ...oauth2.AuthCodeOption) string {
	r.t.Helper()
	to := r.location(r.get(r.conf.AuthCodeURL("the-state", opts...)))
	if to.Path != "/oidc/interaction" || to.Query().Get("authRequest") == "" {
		r.t.Fatalf("the authorization endpoint sends the browser to %s, want /oidc/interaction?authRequest=...", to)
	}
	return to.Query().Get("authRequest")
}

// signIn completes the authorization request for the user, as the
// sign-in experience does at its end (flow_test.go goes through the
// experience itself), follows the callback and returns the code.
func (r *rp) signIn(authRequest string, user identity.User, authTime time.Time) string {
	r.t.Helper()
	next, err := r.a.App.OIDC.Complete(r.ctx, tenant.Default, authRequest, experience.Login{UserID: user.ID, AuthTime: authTime, AMR: []string{experience.AMRCode}})
	if err != nil {
		r.t.Fatalf("completing the sign-in: %v", err)
	}
	back := r.location(r.get(next))
	if got := back.Scheme + "://" + back.Host + back.Path; got != redirectURI || back.Query().Get("state") != "the-state" {
		r.t.Fatalf("the callback sends the browser to %s, want %s with the state", back, redirectURI)
	}
	if back.Query().Get("code") == "" {
		r.t.Fatalf("the callback gives no code: %s", back)
	}
	return back.Query().Get("code")
}

// login signs the user in with PKCE and a nonce and exchanges the code.
func (r *rp) login(user identity.User, opts ...oauth2.AuthCodeOption) (*oauth2.Token, string) {
	r.t.Helper()
	verifier := oauth2.GenerateVerifier()
	id := r.authorize(append([]oauth2.AuthCodeOption{oauth2.S256ChallengeOption(verifier), gooidc.Nonce("the-nonce")}, opts...)...)
	code := r.signIn(id, user, time.Now())
	tok, err := r.conf.Exchange(r.ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		r.t.Fatalf("exchanging the code: %v", err)
	}
	return tok, code
}

// verify checks an ID token against the JWKS, as the app must.
func (r *rp) verify(tok *oauth2.Token, now func() time.Time) (*gooidc.IDToken, error) {
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		r.t.Fatal("the token response has no id_token")
	}
	return r.provider.Verifier(&gooidc.Config{ClientID: r.conf.ClientID, Now: now}).Verify(r.ctx, raw)
}

// refresh uses a refresh token.
func (r *rp) refresh(refreshToken string) (*oauth2.Token, error) {
	return r.conf.TokenSource(r.ctx, &oauth2.Token{RefreshToken: refreshToken, Expiry: time.Unix(1, 0)}).Token()
}

// post sends a form to one of the provider's endpoints, authenticated as
// the app (HTTP Basic for a confidential one, client_id for a public
// one), and decodes the JSON answer.
func (r *rp) post(path string, form url.Values) (int, map[string]any) {
	r.t.Helper()
	if r.conf.ClientSecret == "" {
		form.Set("client_id", r.conf.ClientID)
	}
	req, err := http.NewRequest("POST", r.a.BaseURL+path, strings.NewReader(form.Encode()))
	if err != nil {
		r.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if r.conf.ClientSecret != "" {
		req.SetBasicAuth(url.QueryEscape(r.conf.ClientID), url.QueryEscape(r.conf.ClientSecret))
	}
	return do(r.t, r.a.Client, req)
}

// do sends a request and decodes a JSON answer (nil for another one).
func do(t *testing.T, c *http.Client, req *http.Request) (int, map[string]any) {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	var out map[string]any
	b, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(b, &out)
	return resp.StatusCode, out
}

// oauthError is the OAuth error code of a failed token request.
func oauthError(err error) string {
	if re, ok := err.(*oauth2.RetrieveError); ok {
		return re.ErrorCode
	}
	return ""
}

// userinfo calls /oidc/me with an access token.
func (r *rp) userinfo(accessToken string) (*gooidc.UserInfo, error) {
	return r.provider.UserInfo(r.ctx, oauth2.StaticTokenSource(&oauth2.Token{AccessToken: accessToken, TokenType: "Bearer"}))
}
