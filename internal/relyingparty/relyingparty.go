// Package relyingparty signs a browser in through authmail's own OpenID
// Connect provider, for the clients built into the binary (the console's
// administrators, the demo application). It is a real client of the
// provider: the authorization code flow with PKCE (S256), the code
// exchanged at the token endpoint with golang.org/x/oauth2 and the ID
// token checked with coreos/go-oidc (signature, issuer, audience, expiry,
// nonce). Its own requests reach the provider through the HTTP client it
// is given (the provider's in-process client, since the public URL may
// not be reachable from the server itself); the browser's go to the
// public URL as any app's do. The sign-in under way (state, nonce, PKCE
// verifier, where to go next) is a cookie sealed with the server secret.
package relyingparty

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/authmail/authmail/internal/keyring"
)

// Config says which client of the provider this is.
type Config struct {
	// ClientID is the built-in application; RedirectURL its redirect URI.
	ClientID, RedirectURL string
	// Issuer is the provider's issuer.
	Issuer string
	// Client reaches the provider (its InProcessClient).
	Client *http.Client
	// Keys seals the cookie of the sign-in under way.
	Keys *keyring.Keyring
	// Cookie names that cookie; CookiePath is its path (the redirect
	// URI's); Secure marks it Secure (the public URL is https).
	Cookie, CookiePath string
	Secure             bool
	// Scopes are asked for beside openid.
	Scopes []string
	// Now is the clock the ID token is checked against.
	Now func() time.Time
}

// RP is one built-in client of the provider.
type RP struct {
	cfg      Config
	mu       sync.Mutex
	provider *oidc.Provider
}

// New returns the client cfg describes.
func New(cfg Config) *RP {
	if cfg.Now == nil {
		cfg.Now = func() time.Time { return time.Now().UTC() }
	}
	return &RP{cfg: cfg}
}

// ErrState is a callback this browser did not start: no sign-in under
// way, another one's state, or an ID token with another nonce.
var ErrState = errors.New("this sign-in was not started in this browser, or has already finished")

// RefusedError is the provider's refusal: an error at the redirect URI,
// or a refused code exchange (Exchange).
type RefusedError struct {
	Code, Description string
	Exchange          bool
}

// Error is the OAuth error and its description.
func (e *RefusedError) Error() string {
	if e.Description == "" {
		return e.Code
	}
	return e.Code + ": " + e.Description
}

// Identity is what the ID token says of who signed in.
type Identity struct {
	Subject  string   `json:"sub"`
	Email    string   `json:"email"`
	Name     string   `json:"name,omitempty"`
	AMR      []string `json:"amr"`
	AuthTime int64    `json:"authTime"`
}

// pending is the sign-in under way, kept in the sealed cookie.
type pending struct {
	State    string `json:"s"`
	Nonce    string `json:"n"`
	Verifier string `json:"v"`
	Next     string `json:"x,omitempty"`
}

// aad binds the sealed cookie to this client.
func (rp *RP) aad() string { return "relyingparty.pending\x00" + rp.cfg.ClientID }

// discovered is the provider as discovery describes it, read once through
// the client.
func (rp *RP) discovered(ctx context.Context) (*oidc.Provider, error) {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	if rp.provider != nil {
		return rp.provider, nil
	}
	// The provider keeps the context for fetching the signing keys later.
	p, err := oidc.NewProvider(oidc.ClientContext(context.WithoutCancel(ctx), rp.cfg.Client), rp.cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("discovering the OpenID Connect provider: %w", err)
	}
	rp.provider = p
	return p, nil
}

func (rp *RP) oauth(p *oidc.Provider) *oauth2.Config {
	return &oauth2.Config{ClientID: rp.cfg.ClientID, Endpoint: p.Endpoint(), RedirectURL: rp.cfg.RedirectURL,
		Scopes: append([]string{oidc.ScopeOpenID}, rp.cfg.Scopes...)}
}

func (rp *RP) setCookie(w http.ResponseWriter, value string, maxAge int) {
	// Lax: the browser comes back from the provider's pages by a redirect
	// that may have begun at a link in an email.
	http.SetCookie(w, &http.Cookie{Name: rp.cfg.Cookie, Value: value, Path: rp.cfg.CookiePath, MaxAge: maxAge,
		HttpOnly: true, Secure: rp.cfg.Secure, SameSite: http.SameSiteLaxMode})
}

// Start is how a sign-in begins.
type Start struct {
	// Next is kept for the callback (Finish returns it).
	Next string
	// UILocales, when set, is the ui_locales parameter; Prompt the prompt
	// (login asks again despite a sign-in session).
	UILocales, Prompt string
}

// Begin starts a sign-in: a fresh state, nonce and PKCE verifier in the
// sealed cookie, and the browser sent to the authorization endpoint.
func (rp *RP) Begin(w http.ResponseWriter, r *http.Request, s Start) error {
	p, err := rp.discovered(r.Context())
	if err != nil {
		return err
	}
	pd := pending{State: random(16), Nonce: random(16), Verifier: oauth2.GenerateVerifier(), Next: s.Next}
	raw, err := json.Marshal(pd)
	if err != nil {
		return err
	}
	rp.setCookie(w, rp.cfg.Keys.Seal(raw, rp.aad()), 3600)
	opts := []oauth2.AuthCodeOption{oidc.Nonce(pd.Nonce), oauth2.S256ChallengeOption(pd.Verifier)}
	if s.UILocales != "" {
		opts = append(opts, oauth2.SetAuthURLParam("ui_locales", s.UILocales))
	}
	if s.Prompt != "" {
		opts = append(opts, oauth2.SetAuthURLParam("prompt", s.Prompt))
	}
	http.Redirect(w, r, rp.oauth(p).AuthCodeURL(pd.State, opts...), http.StatusSeeOther)
	return nil
}

// Finish completes the sign-in at the redirect URI: the state must be the
// cookie's, the code is exchanged with the PKCE verifier and the ID token
// checked, its nonce the cookie's. The cookie goes either way, so a
// callback works once. It returns who signed in and Start's Next;
// ErrState or a *RefusedError for what the browser or the provider did,
// another error for a fault.
func (rp *RP) Finish(w http.ResponseWriter, r *http.Request) (Identity, string, error) {
	var pd pending
	if c, err := r.Cookie(rp.cfg.Cookie); err == nil {
		if raw, err := rp.cfg.Keys.Open(c.Value, rp.aad()); err == nil {
			_ = json.Unmarshal(raw, &pd)
		}
	}
	rp.setCookie(w, "", -1)
	v := r.URL.Query()
	if pd.State == "" || v.Get("state") != pd.State {
		return Identity{}, "", ErrState
	}
	if e := v.Get("error"); e != "" {
		return Identity{}, "", &RefusedError{Code: e, Description: v.Get("error_description")}
	}
	ctx := r.Context()
	p, err := rp.discovered(ctx)
	if err != nil {
		return Identity{}, "", err
	}
	tok, err := rp.oauth(p).Exchange(context.WithValue(ctx, oauth2.HTTPClient, rp.cfg.Client), v.Get("code"), oauth2.VerifierOption(pd.Verifier))
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		return Identity{}, "", &RefusedError{Code: re.ErrorCode, Description: re.ErrorDescription, Exchange: true}
	}
	if err != nil {
		return Identity{}, "", fmt.Errorf("exchanging the code: %w", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := p.Verifier(&oidc.Config{ClientID: rp.cfg.ClientID, Now: rp.cfg.Now}).Verify(oidc.ClientContext(ctx, rp.cfg.Client), raw)
	if err != nil {
		return Identity{}, "", fmt.Errorf("checking the ID token: %w", err)
	}
	if idt.Nonce != pd.Nonce {
		return Identity{}, "", ErrState
	}
	var claims struct {
		Email    string   `json:"email"`
		Name     string   `json:"name"`
		AMR      []string `json:"amr"`
		AuthTime int64    `json:"auth_time"`
	}
	if err := idt.Claims(&claims); err != nil {
		return Identity{}, "", fmt.Errorf("reading the ID token's claims: %w", err)
	}
	return Identity{Subject: idt.Subject, Email: claims.Email, Name: claims.Name, AMR: claims.AMR, AuthTime: claims.AuthTime}, pd.Next, nil
}

// EndSessionURL is where the browser goes to sign out at the provider
// (RP-initiated logout), coming back to postLogout.
func (rp *RP) EndSessionURL(ctx context.Context, postLogout string) (string, error) {
	p, err := rp.discovered(ctx)
	if err != nil {
		return "", err
	}
	var meta struct {
		EndSession string `json:"end_session_endpoint"`
	}
	if err := p.Claims(&meta); err != nil || meta.EndSession == "" {
		return "", fmt.Errorf("the provider names no end_session_endpoint: %v", err)
	}
	return meta.EndSession + "?" + url.Values{"client_id": {rp.cfg.ClientID}, "post_logout_redirect_uri": {postLogout}}.Encode(), nil
}

// random is n random bytes, base64url.
func random(n int) string { return base64.RawURLEncoding.EncodeToString(keyring.RandomBytes(n)) }
