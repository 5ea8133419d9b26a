// Package demoapp is the built-in demo application at /demo-app, as
// Logto's demo-app: the console's "Try sign-in" opens it, and it signs in
// through authmail's own OpenID Connect provider and hosted pages with the
// saved sign-in experience, then shows who signed in (email, sub, amr)
// and signs out by RP-initiated logout. It is a real client of the
// provider through internal/relyingparty (the authorization code flow
// with PKCE, the code exchanged with golang.org/x/oauth2 and the ID token
// checked with coreos/go-oidc, in process).
//
// The application is apps.DemoAppID, a built-in single-page application
// whose redirect and post sign-out redirect URIs are the public URL +
// apps.DemoAppPath. Who signed in is kept in a cookie sealed with the
// server secret (the sign-in under way in the relying party's); no token
// is kept.
package demoapp

import (
	"bytes"
	"embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/authmail/authmail/internal/apps"
	"github.com/authmail/authmail/internal/keyring"
	"github.com/authmail/authmail/internal/ratelimit"
	"github.com/authmail/authmail/internal/relyingparty"
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
	// RP signs the browser in through the provider as apps.DemoAppID.
	RP *relyingparty.RP
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
	rp := relyingparty.New(relyingparty.Config{ClientID: apps.DemoAppID, RedirectURL: d.PublicURL + pagePath, Issuer: d.Issuer,
		Client: d.Client, Keys: d.Keys, Cookie: stateCookie + "_signin", CookiePath: apps.DemoAppPath, Secure: d.SecureCookies,
		Scopes: []string{"profile", "email"}, Now: d.Now})
	return &Server{Deps: d, logger: d.Logger.With("component", "demoapp"), cats: cats, views: views, RP: rp}, nil
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
	// User is who signed in; ID binds the sign-out form's CSRF token.
	User *relyingparty.Identity `json:"u,omitempty"`
	ID   string                 `json:"i,omitempty"`
	// SignedOut says the last thing done was signing out.
	SignedOut bool `json:"o,omitempty"`
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

// start begins a sign-in: the authorization request, the sign-in under
// way in the relying party's cookie.
func (s *Server) start(q *request) error {
	start := relyingparty.Start{}
	if q.cat.Lang != web.DefaultLanguage {
		start.UILocales = q.cat.Lang
	}
	return s.RP.Begin(q.w, q.r, start)
}

// callback finishes a sign-in at the redirect URI (the relying party
// checks the state, exchanges the code and checks the ID token) and keeps
// who signed in.
func (s *Server) callback(q *request) error {
	who, _, err := s.RP.Finish(q.w, q.r)
	var refused *relyingparty.RefusedError
	switch {
	case errors.Is(err, relyingparty.ErrState):
		return s.errorPage(q, http.StatusBadRequest, q.text(msg("error.state")))
	case errors.As(err, &refused) && refused.Exchange:
		s.logger.InfoContext(q.r.Context(), "demo app: the code exchange was refused", "error", refused.Code)
		return s.errorPage(q, http.StatusBadRequest, q.text(msg("error.exchange"), "error", refused.Error()))
	case errors.As(err, &refused):
		return s.errorPage(q, http.StatusBadRequest, q.text(msg("error.refused"), "error", refused.Error()))
	case err != nil:
		return err
	}
	if err := s.writeState(q.w, demoState{User: &who, ID: base64.RawURLEncoding.EncodeToString(keyring.RandomBytes(16))}); err != nil {
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
	end, err := s.RP.EndSessionURL(q.r.Context(), s.PublicURL+pagePath)
	if err != nil {
		return err
	}
	if err := s.writeState(q.w, demoState{SignedOut: true}); err != nil {
		return err
	}
	http.Redirect(q.w, q.r, end, http.StatusSeeOther)
	return nil
}

// view is what a demo page renders.
type view struct {
	Lang, Error, CSRF string
	User              *relyingparty.Identity
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
