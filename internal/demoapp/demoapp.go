// Package demoapp is the built-in demo application at /demo-app, as
// Logto's demo-app: the console's "Try sign-in" opens it, and it signs in
// through authmail's own OpenID Connect provider and hosted pages with the
// saved sign-in experience, then shows who signed in (email, sub, amr)
// and signs out by RP-initiated logout. It is a real client of the
// provider: the authorization code flow with PKCE (S256), the code
// exchanged at the token endpoint with golang.org/x/oauth2 and the ID
// token checked with coreos/go-oidc (signature, issuer, audience, expiry,
// nonce). Those requests reach the provider in process (the provider's
// InProcessClient), since the public URL may not be reachable from the
// server itself; the browser's go to the public URL as any app's do.
//
// The application is apps.DemoAppID, a built-in single-page application
// whose redirect and post sign-out redirect URIs are the public URL +
// apps.DemoAppPath. What the demo keeps between requests (the sign-in
// under way: state, nonce, PKCE verifier; then the user's claims) is a
// cookie sealed with the server secret; no token is kept.
package demoapp

import (
	"bytes"
	"context"
	"embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/authmail/authmail/internal/apps"
	"github.com/authmail/authmail/internal/keyring"
	"github.com/authmail/authmail/internal/ratelimit"
	"github.com/authmail/authmail/internal/tenant"
	"github.com/authmail/authmail/internal/web"
)

// Deps are what the demo application needs.
type Deps struct {
	// Issuer is the provider's issuer; PublicURL the URL authmail is
	// reached at (the redirect URI is PublicURL + apps.DemoAppPath).
	Issuer, PublicURL string
	// Client reaches the provider (its InProcessClient).
	Client *http.Client
	// Keys seals the demo's cookie and derives its CSRF token.
	Keys *keyring.Keyring
	// Limiter and Limit cap the requests one client makes, as on the
	// other public routes.
	Limiter *ratelimit.Limiter
	Limit   ratelimit.Limit
	Logger  *slog.Logger
	// Now is the clock the ID token is checked against.
	Now func() time.Time
	// SecureCookies marks the cookie Secure (the public URL is https).
	SecureCookies bool
}

// Server serves the demo application.
type Server struct {
	Deps
	logger *slog.Logger
	cats   *web.Catalogues
	views  *web.Views

	mu       sync.Mutex
	provider *oidc.Provider
}

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed i18n/*.json
var catalogueFiles embed.FS

//go:embed assets/*
var assetFiles embed.FS

// assetPrefix is where the demo's stylesheet is served.
const assetPrefix = apps.DemoAppPath + "/assets/"

var assets = web.MustAssets(assetFiles, "assets", assetPrefix)

// The demo's paths: its page (also the redirect URI and the post sign-out
// redirect URI), and its sign-out form.
const (
	pagePath    = apps.DemoAppPath
	signOutPath = apps.DemoAppPath + "/sign-out"
)

// New builds the demo application; it fails only when the embedded
// templates or catalogues are broken.
func New(d Deps) (*Server, error) {
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.Now == nil {
		d.Now = func() time.Time { return time.Now().UTC() }
	}
	cats, err := web.LoadCatalogues(catalogueFiles, "i18n")
	if err != nil {
		return nil, err
	}
	views, err := web.ParseViews(templateFiles, "templates", []string{"layout.html"}, cats.Langs, func(lang string) template.FuncMap {
		return template.FuncMap{"t": cats.ByLang[lang].Text, "asset": assets.URL}
	})
	if err != nil {
		return nil, err
	}
	return &Server{Deps: d, logger: d.Logger.With("component", "demoapp"), cats: cats, views: views}, nil
}

// Routes lists the demo's routes as "METHOD /path".
func (s *Server) Routes() []string {
	return []string{"GET " + pagePath, "POST " + signOutPath, "GET " + assetPrefix + "{name}"}
}

// Mount registers the demo's routes on mux.
func (s *Server) Mount(mux *http.ServeMux) {
	mux.Handle("GET "+pagePath, s.wrap(s.page))
	mux.Handle("POST "+signOutPath, s.wrap(s.signOut))
	mux.Handle("GET "+assetPrefix+"{name}", web.Headers(assets))
}

// request is one request to the demo.
type request struct {
	w   http.ResponseWriter
	r   *http.Request
	cat *web.Catalogue
	st  demoState
}

// wrap resolves the tenant, the language and the demo's state, and counts
// the request toward the client's cap.
func (s *Server) wrap(h func(*request) error) http.Handler {
	return web.Headers(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r = r.WithContext(tenant.NewContext(r.Context(), tenant.Default))
		q := &request{w: w, r: r, cat: s.cats.ByLang[s.cats.Choose(nil, r.Header.Get("Accept-Language"), true, "")]}
		if s.Limiter != nil {
			ip, _, _ := net.SplitHostPort(r.RemoteAddr)
			var limited *ratelimit.LimitedError
			if err := s.Limiter.Allow(r.Context(), tenant.Default, s.Limit, ip); errors.As(err, &limited) {
				w.Header().Set("Retry-After", fmt.Sprint(int(limited.RetryAfter.Seconds()+0.999)))
				s.errorPage(q, http.StatusTooManyRequests, q.text(msg("error.too_many")))
				return
			} else if err != nil {
				s.unexpected(q, err)
				return
			}
		}
		q.st = s.readState(r)
		if err := h(q); err != nil {
			s.unexpected(q, err)
		}
	}))
}

// msg is the key of a sentence in the catalogues, written out as
// msg("area.name") so a test can find every key the code uses.
type msg string

// text is the sentence for key in the request's language.
func (q *request) text(key msg, args ...string) string { return q.cat.Text(string(key), args...) }

// stateCookie names the demo's cookie.
const stateCookie = "_authmail_demo"

// demoState is what the demo keeps in its cookie.
type demoState struct {
	// State, Nonce and Verifier are the sign-in under way's.
	State    string `json:"s,omitempty"`
	Nonce    string `json:"n,omitempty"`
	Verifier string `json:"v,omitempty"`
	// User is who signed in; ID binds the sign-out form's CSRF token.
	User *user  `json:"u,omitempty"`
	ID   string `json:"i,omitempty"`
	// SignedOut says the last thing done was signing out.
	SignedOut bool `json:"o,omitempty"`
}

// user is what the ID token said of who signed in.
type user struct {
	Sub      string   `json:"sub"`
	Email    string   `json:"email"`
	Name     string   `json:"name,omitempty"`
	AMR      []string `json:"amr"`
	AuthTime int64    `json:"authTime"`
}

// stateAAD binds the sealed cookie to its use.
const stateAAD = "demoapp.state"

func (s *Server) readState(r *http.Request) demoState {
	var st demoState
	c, err := r.Cookie(stateCookie)
	if err != nil {
		return st
	}
	raw, err := s.Keys.Open(c.Value, stateAAD)
	if err != nil || json.Unmarshal(raw, &st) != nil {
		return demoState{}
	}
	return st
}

func (s *Server) writeState(w http.ResponseWriter, st demoState) error {
	raw, err := json.Marshal(st)
	if err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{Name: stateCookie, Value: s.Keys.Seal(raw, stateAAD), Path: apps.DemoAppPath,
		HttpOnly: true, Secure: s.SecureCookies, SameSite: http.SameSiteLaxMode})
	return nil
}

// random is n random bytes, base64url.
func random(n int) string { return base64.RawURLEncoding.EncodeToString(keyring.RandomBytes(n)) }

// oidcProvider is the provider as discovery describes it, read once
// through the in-process client.
func (s *Server) oidcProvider(ctx context.Context) (*oidc.Provider, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.provider != nil {
		return s.provider, nil
	}
	// The provider keeps the context for fetching the signing keys later.
	p, err := oidc.NewProvider(oidc.ClientContext(context.WithoutCancel(ctx), s.Client), s.Issuer)
	if err != nil {
		return nil, fmt.Errorf("discovering the OpenID Connect provider: %w", err)
	}
	s.provider = p
	return p, nil
}

// oauth is the demo's OAuth 2.0 client configuration.
func (s *Server) oauth(p *oidc.Provider) *oauth2.Config {
	return &oauth2.Config{ClientID: apps.DemoAppID, Endpoint: p.Endpoint(), RedirectURL: s.PublicURL + pagePath,
		Scopes: []string{oidc.ScopeOpenID, "profile", "email"}}
}

// page is the demo's page: back from the provider it finishes the
// sign-in; signed in, it shows who; just signed out, it says so;
// otherwise it starts a sign-in.
func (s *Server) page(q *request) error {
	v := q.r.URL.Query()
	switch {
	case v.Has("code") || v.Has("error"):
		return s.callback(q)
	case q.st.User != nil:
		return s.render(q, http.StatusOK, "signed-in", view{User: q.st.User, CSRF: s.csrf(q.st.ID),
			AuthTime: time.Unix(q.st.User.AuthTime, 0).UTC().Format("2006-01-02 15:04:05 UTC")})
	case q.st.SignedOut && !v.Has("start"):
		return s.render(q, http.StatusOK, "signed-out", view{})
	}
	return s.start(q)
}

// start begins a sign-in: the authorization request, with a fresh state,
// nonce and PKCE verifier kept in the cookie.
func (s *Server) start(q *request) error {
	p, err := s.oidcProvider(q.r.Context())
	if err != nil {
		return err
	}
	st := demoState{State: random(16), Nonce: random(16), Verifier: oauth2.GenerateVerifier()}
	if err := s.writeState(q.w, st); err != nil {
		return err
	}
	opts := []oauth2.AuthCodeOption{oidc.Nonce(st.Nonce), oauth2.S256ChallengeOption(st.Verifier)}
	if q.cat.Lang != web.DefaultLanguage {
		opts = append(opts, oauth2.SetAuthURLParam("ui_locales", q.cat.Lang))
	}
	http.Redirect(q.w, q.r, s.oauth(p).AuthCodeURL(st.State, opts...), http.StatusSeeOther)
	return nil
}

// callback finishes a sign-in at the redirect URI: the state must be the
// cookie's, the code is exchanged (with the PKCE verifier) and the ID
// token checked (its nonce the cookie's), and the claims kept.
func (s *Server) callback(q *request) error {
	v := q.r.URL.Query()
	if q.st.State == "" || v.Get("state") != q.st.State {
		return s.errorPage(q, http.StatusBadRequest, q.text(msg("error.state")))
	}
	if e := v.Get("error"); e != "" {
		if d := v.Get("error_description"); d != "" {
			e += ": " + d
		}
		return s.errorPage(q, http.StatusBadRequest, q.text(msg("error.refused"), "error", e))
	}
	ctx := q.r.Context()
	p, err := s.oidcProvider(ctx)
	if err != nil {
		return err
	}
	tok, err := s.oauth(p).Exchange(context.WithValue(ctx, oauth2.HTTPClient, s.Client), v.Get("code"), oauth2.VerifierOption(q.st.Verifier))
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		why := re.ErrorCode
		if re.ErrorDescription != "" {
			why += ": " + re.ErrorDescription
		}
		s.logger.InfoContext(ctx, "demo app: the code exchange was refused", "error", re.ErrorCode)
		return s.errorPage(q, http.StatusBadRequest, q.text(msg("error.exchange"), "error", why))
	}
	if err != nil {
		return fmt.Errorf("exchanging the code: %w", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := p.Verifier(&oidc.Config{ClientID: apps.DemoAppID, Now: s.Now}).Verify(oidc.ClientContext(ctx, s.Client), raw)
	if err != nil {
		return fmt.Errorf("checking the ID token: %w", err)
	}
	if idt.Nonce != q.st.Nonce {
		return s.errorPage(q, http.StatusBadRequest, q.text(msg("error.state")))
	}
	var claims struct {
		Email    string   `json:"email"`
		Name     string   `json:"name"`
		AMR      []string `json:"amr"`
		AuthTime int64    `json:"auth_time"`
	}
	if err := idt.Claims(&claims); err != nil {
		return fmt.Errorf("reading the ID token's claims: %w", err)
	}
	st := demoState{User: &user{Sub: idt.Subject, Email: claims.Email, Name: claims.Name, AMR: claims.AMR, AuthTime: claims.AuthTime},
		ID: random(16)}
	if err := s.writeState(q.w, st); err != nil {
		return err
	}
	http.Redirect(q.w, q.r, pagePath, http.StatusSeeOther)
	return nil
}

// csrfPurpose names the sign-out form's CSRF token.
const csrfPurpose = "demoapp.csrf"

func (s *Server) csrf(id string) string {
	return web.CSRFToken(s.Keys, tenant.Default, csrfPurpose, id)
}

// signOut forgets who signed in and ends the sign-in session at the
// provider (RP-initiated logout), which sends the browser back to the
// demo's page.
func (s *Server) signOut(q *request) error {
	q.r.Body = http.MaxBytesReader(q.w, q.r.Body, 4<<10)
	if err := q.r.ParseForm(); err != nil || q.st.User == nil ||
		!web.CSRFValid(s.Keys, tenant.Default, csrfPurpose, q.st.ID, q.r.PostForm.Get(web.CSRFField)) {
		return s.errorPage(q, http.StatusForbidden, q.text(msg("error.state")))
	}
	p, err := s.oidcProvider(q.r.Context())
	if err != nil {
		return err
	}
	var meta struct {
		EndSession string `json:"end_session_endpoint"`
	}
	if err := p.Claims(&meta); err != nil || meta.EndSession == "" {
		return fmt.Errorf("the provider names no end_session_endpoint: %v", err)
	}
	if err := s.writeState(q.w, demoState{SignedOut: true}); err != nil {
		return err
	}
	end := meta.EndSession + "?" + url.Values{"client_id": {apps.DemoAppID}, "post_logout_redirect_uri": {s.PublicURL + pagePath}}.Encode()
	http.Redirect(q.w, q.r, end, http.StatusSeeOther)
	return nil
}

// view is what a demo page renders.
type view struct {
	Lang, Error, CSRF string
	User              *user
	AuthTime          string
}

func (s *Server) render(q *request, status int, name string, v view) error {
	v.Lang = q.cat.Lang
	var buf bytes.Buffer
	if err := s.views.Page(q.cat.Lang, name).Execute(&buf, v); err != nil {
		return err
	}
	h := q.w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Language", v.Lang)
	h.Set("Vary", "Accept-Language, Cookie")
	q.w.WriteHeader(status)
	_, err := q.w.Write(buf.Bytes())
	return err
}

// errorPage shows why the sign-in did not complete, with a way to start
// again.
func (s *Server) errorPage(q *request, status int, sentence string) error {
	return s.render(q, status, "error", view{Error: sentence})
}

// unexpected logs a fault of the server and shows its reference.
func (s *Server) unexpected(q *request, err error) {
	ref := strings.ToUpper(fmt.Sprintf("%x", keyring.RandomBytes(4)))
	s.logger.ErrorContext(q.r.Context(), "demo app error", "errorId", ref, "path", q.r.URL.Path, "err", err)
	if rerr := s.errorPage(q, http.StatusInternalServerError, q.text(msg("error.unexpected"), "reference", ref)); rerr != nil {
		http.Error(q.w, "internal error", http.StatusInternalServerError)
	}
}
