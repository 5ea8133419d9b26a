// Package pages serves the hosted sign-in pages at Logto's paths: the
// identifier page (/sign-in), the password and code pages, registration,
// forgotten passwords, the missing-profile page and the error pages. They
// are rendered on the server with html/template from embedded templates and
// assets; every form is a plain POST that works without JavaScript, answered
// by a redirect (Post/Redirect/Get) or, when it is refused, by the same page
// with the reason as a sentence in the page's language. A little embedded
// JavaScript adds pasting a whole code, submitting on the last digit and the
// resend countdown. Handlers decode the form, call one method of the
// experience service (the one the JSON experience API calls) and render or
// redirect.
package pages

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/authmail/authmail/internal/account"
	"github.com/authmail/authmail/internal/experience"
	"github.com/authmail/authmail/internal/keyring"
	"github.com/authmail/authmail/internal/orgs"
	"github.com/authmail/authmail/internal/ratelimit"
	"github.com/authmail/authmail/internal/tenant"
	"github.com/authmail/authmail/internal/web"
)

// Deps are the services the pages use.
type Deps struct {
	// Experience runs the flows, as it does for the JSON experience API.
	Experience *experience.Service
	// Account runs the account page's steps, as it does for the account
	// API.
	Account *account.Service
	// Tenants holds the tenants' sign-in experience settings.
	Tenants *tenant.Settings
	// AppName names the application of a client ID ("" when unknown); nil
	// leaves the pages without the app's name.
	AppName func(ctx context.Context, tenant, clientID string) (string, error)
	// Limiter and Limit cap the requests one client makes to the pages
	// (the cap the experience API counts toward too).
	Limiter *ratelimit.Limiter
	Limit   ratelimit.Limit
	// Keys derives the forms' CSRF tokens and seals the page state.
	Keys   *keyring.Keyring
	Logger *slog.Logger
	// Now is the clock.
	Now func() time.Time
	// SecureCookies marks the page cookie Secure (the public URL is https).
	SecureCookies bool
	// Orgs serves the invitation accept page.
	Orgs *orgs.Service
}

// Server serves the pages.
type Server struct {
	Deps
	logger *slog.Logger
	cats   *catalogues
	views  *views
	routes []route
}

// route is one page operation: the same table registers the handlers and
// is what the documentation's list of page routes is checked against.
type route struct {
	method, path string
	// interaction says the page belongs to a sign-in and needs its
	// interaction cookie; without one it answers the session-not-found page.
	interaction bool
	// invitation says the page is the accept page of the invitation whose
	// token is the path's {token}: its forms' CSRF tokens are bound to it.
	invitation bool
	// account says the page is the signed-in user's, found by the sign-in
	// session's cookie; without one it answers the signed-out page.
	account bool
	// magicLink says the page is the magic link page of the path's
	// {token}, for browsers with and without an interaction: the
	// interaction is read when the cookie names a live one, and the forms'
	// CSRF tokens are bound to it, else to the link's token.
	magicLink bool
	handler   func(p *page) error
}

// New builds the pages server; it fails only when the embedded templates
// or catalogues are broken.
func New(d Deps) (*Server, error) {
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.Now == nil {
		d.Now = func() time.Time { return time.Now().UTC() }
	}
	cats, err := loadCatalogues()
	if err != nil {
		return nil, err
	}
	v, err := parseViews(cats)
	if err != nil {
		return nil, err
	}
	s := &Server{Deps: d, logger: d.Logger.With("component", "pages"), cats: cats, views: v}
	s.routes = s.routeTable()
	return s, nil
}

func (s *Server) routeTable() []route {
	return []route{
		{method: "GET", path: signInFlow.path, interaction: true, handler: s.signInPage},
		{method: "POST", path: signInFlow.path, interaction: true, handler: s.signInSubmit},
		{method: "GET", path: passwordPath, interaction: true, handler: s.passwordPage},
		{method: "POST", path: passwordPath, interaction: true, handler: s.passwordSubmit},
		{method: "GET", path: signInFlow.codePath(), interaction: true, handler: s.codePage(signInFlow)},
		{method: "POST", path: signInFlow.codePath(), interaction: true, handler: s.codeSubmit(signInFlow)},
		{method: "POST", path: signInFlow.codePath() + "/send", interaction: true, handler: s.codeSend(signInFlow)},
		{method: "GET", path: createAccountPath, interaction: true, handler: s.createAccountPage},
		{method: "POST", path: createAccountPath, interaction: true, handler: s.createAccountSubmit},
		{method: "GET", path: registerFlow.path, interaction: true, handler: s.registerPage},
		{method: "POST", path: registerFlow.path, interaction: true, handler: s.registerSubmit},
		{method: "GET", path: registerFlow.codePath(), interaction: true, handler: s.codePage(registerFlow)},
		{method: "POST", path: registerFlow.codePath(), interaction: true, handler: s.codeSubmit(registerFlow)},
		{method: "POST", path: registerFlow.codePath() + "/send", interaction: true, handler: s.codeSend(registerFlow)},
		{method: "GET", path: existingAccountPath, interaction: true, handler: s.existingAccountPage},
		{method: "POST", path: existingAccountPath, interaction: true, handler: s.existingAccountSubmit},
		{method: "GET", path: forgotFlow.path, interaction: true, handler: s.forgotPage},
		{method: "POST", path: forgotFlow.path, interaction: true, handler: s.forgotSubmit},
		{method: "GET", path: forgotFlow.codePath(), interaction: true, handler: s.codePage(forgotFlow)},
		{method: "POST", path: forgotFlow.codePath(), interaction: true, handler: s.codeSubmit(forgotFlow)},
		{method: "POST", path: forgotFlow.codePath() + "/send", interaction: true, handler: s.codeSend(forgotFlow)},
		{method: "GET", path: resetPath, interaction: true, handler: s.resetPage},
		{method: "POST", path: resetPath, interaction: true, handler: s.resetSubmit},
		{method: "GET", path: mfaPath, interaction: true, handler: s.mfaPage},
		{method: "POST", path: mfaPath, interaction: true, handler: s.mfaSubmit},
		{method: "POST", path: mfaPath + "/send", interaction: true, handler: s.mfaSend},
		{method: "GET", path: experience.MagicLinkPage + "/{token}", magicLink: true, handler: s.magicLinkPage},
		{method: "POST", path: experience.MagicLinkPage + "/{token}", magicLink: true, handler: s.magicLinkSubmit},
		{method: "GET", path: continuePassword, interaction: true, handler: s.continuePasswordPage},
		{method: "POST", path: continuePassword, interaction: true, handler: s.continuePasswordSubmit},
		{method: "GET", path: continueUsername, interaction: true, handler: s.continueUsernamePage},
		{method: "POST", path: continueUsername, interaction: true, handler: s.continueUsernameSubmit},
		{method: "GET", path: invitationPath, invitation: true, handler: s.invitationPage},
		{method: "POST", path: invitationPath + "/send", invitation: true, handler: s.invitationSend},
		{method: "GET", path: invitationPath + "/code", invitation: true, handler: s.invitationCodePage},
		{method: "POST", path: invitationPath + "/code", invitation: true, handler: s.invitationCodeSubmit},
		{method: "GET", path: AccountSecurityPath, account: true, handler: s.securityPage},
		{method: "POST", path: accountVerifySend, account: true, handler: s.securityVerifySend},
		{method: "POST", path: accountVerifyPassword, account: true, handler: s.securityVerifyPassword},
		{method: "GET", path: accountVerifyCode, account: true, handler: s.securityCodePage(accountVerifyCode)},
		{method: "POST", path: accountVerifyCode, account: true, handler: s.securityVerifySubmit},
		{method: "POST", path: accountEmail, account: true, handler: s.securityEmailSubmit},
		{method: "GET", path: accountEmailCode, account: true, handler: s.securityCodePage(accountEmailCode)},
		{method: "POST", path: accountEmailCode, account: true, handler: s.securityEmailCodeSubmit},
		{method: "POST", path: accountEmailCode + "/send", account: true, handler: s.securityEmailResend},
		{method: "POST", path: accountPassword, account: true, handler: s.securityPasswordSubmit},
	}
}

// Mount registers every page route, and the assets, on mux.
func (s *Server) Mount(mux *http.ServeMux) {
	for _, rt := range s.routes {
		mux.Handle(rt.method+" "+rt.path, s.wrap(rt))
	}
	mux.Handle("GET "+assetPrefix+"{name}", s.headers(http.HandlerFunc(s.asset)))
}

// Routes lists the page routes as "METHOD /path", in the order of the
// route table, the assets' last.
func (s *Server) Routes() []string {
	var out []string
	for _, rt := range s.routes {
		out = append(out, rt.method+" "+rt.path)
	}
	return append(out, "GET "+assetPrefix+"{name}")
}

// Handler serves the pages alone (the app mounts them beside the API).
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	s.Mount(mux)
	return mux
}

// maxForm bounds a form body; the largest field is a 256-character password.
const maxForm = 16 << 10

// wrap resolves what every page needs (the tenant, its settings, the
// interaction, the language), checks the CSRF token of a POST, and turns
// a handler's error into an error page.
func (s *Server) wrap(rt route) http.Handler {
	return s.headers(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := &page{s: s, w: w, r: r, tenant: tenant.Default, logPath: r.URL.Path}
		if rt.invitation || rt.magicLink {
			// The path holds the invitation's or link's token, a secret:
			// logs name the route instead.
			p.logPath = rt.path
		}
		defer func() {
			if v := recover(); v != nil {
				p.unexpected(fmt.Errorf("page panic on %s: %v", p.logPath, v))
			}
		}()
		r = r.WithContext(tenant.NewContext(r.Context(), p.tenant))
		p.r = r
		exp, err := s.Tenants.Experience(r.Context(), p.tenant)
		if err != nil {
			p.cat = s.cats.byLang[s.cats.choose(nil, r.Header.Get("Accept-Language"), true, "")]
			p.fail(err)
			return
		}
		p.exp = exp
		p.caller = experience.CallerOf(r, p.tenant)
		p.cat = s.cats.byLang[s.cats.choose(nil, r.Header.Get("Accept-Language"), exp.LanguageInfo.AutoDetect, exp.LanguageInfo.FallbackLanguage)]
		if s.Limiter != nil {
			if err := s.Limiter.Allow(r.Context(), p.tenant, s.Limit, p.caller.IP); err != nil {
				p.fail(err)
				return
			}
		}
		if rt.interaction {
			req, err := s.Experience.Request(r.Context(), p.caller)
			if err != nil {
				p.fail(err)
				return
			}
			p.req, p.interaction = req, p.caller.Interaction
			p.cat = s.cats.byLang[s.cats.choose(req.UILocales, r.Header.Get("Accept-Language"), exp.LanguageInfo.AutoDetect, exp.LanguageInfo.FallbackLanguage)]
			p.state = s.readState(r, p.tenant, p.interaction)
		}
		if rt.magicLink && p.caller.Interaction != "" {
			req, err := s.Experience.Request(r.Context(), p.caller)
			switch {
			case err == nil:
				p.req, p.interaction = req, p.caller.Interaction
				p.cat = s.cats.byLang[s.cats.choose(req.UILocales, r.Header.Get("Accept-Language"), exp.LanguageInfo.AutoDetect, exp.LanguageInfo.FallbackLanguage)]
				p.state = s.readState(r, p.tenant, p.interaction)
			case !errors.Is(err, experience.ErrSessionNotFound):
				p.fail(err)
				return
			}
		}
		p.csrfSubject = p.interaction
		if rt.invitation {
			p.csrfSubject = invitationCSRF(r.PathValue("token"))
		}
		if rt.magicLink && p.interaction == "" {
			p.csrfSubject = "magic_link:" + r.PathValue("token")
		}
		if rt.account {
			if p.session = experience.SessionOf(r); p.session == "" {
				p.errorPage(http.StatusUnauthorized, msg("error.signed_out"))
				return
			}
			p.csrfSubject = p.binding()
			p.state = s.readState(r, p.tenant, p.binding())
		}
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, maxForm)
			if err := r.ParseForm(); err != nil {
				p.errorPage(http.StatusBadRequest, msg("error.bad_form"))
				return
			}
			if !s.csrfValid(p.tenant, p.csrfSubject, r.PostForm.Get(csrfField)) {
				s.logger.InfoContext(r.Context(), "form refused: CSRF token missing or wrong", "path", p.logPath)
				p.errorPage(http.StatusForbidden, msg("error.csrf"))
				return
			}
		}
		if err := rt.handler(p); err != nil {
			p.fail(err)
		}
	}))
}

// headers sets the security headers every page and asset carries
// (web.SetSecurityHeaders, with the pages' Content-Security-Policy): only
// this origin's scripts and styles (no inline script or style), no
// framing, no referrer, no MIME sniffing; pages are never cached (they
// carry codes and CSRF tokens); assets set their own caching.
func (s *Server) headers(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		web.SetSecurityHeaders(w.Header())
		w.Header().Set("Content-Security-Policy", csp(nil))
		next.ServeHTTP(w, r)
	})
}

// csp is the Content-Security-Policy of a page whose images may also come
// from imageOrigins (the tenant's logo). It has no form-action: browsers
// apply it to the redirects that answer a form, and the last form of a
// sign-in is answered by a redirect to the app.
func csp(imageOrigins []string) string {
	return web.CSP(web.Policy{ImageOrigins: imageOrigins, FormsLeave: true})
}

// page is one request to a page: what wrap resolved, and the helpers a
// handler renders and redirects with.
type page struct {
	s      *Server
	w      http.ResponseWriter
	r      *http.Request
	tenant string
	exp    tenant.Experience
	cat    *catalogue
	// caller is the browser as the experience service knows it; req the
	// authorization request its interaction is for.
	caller experience.Caller
	req    experience.AuthRequest
	// interaction is the interaction cookie's value ("" on a page that
	// needs none).
	interaction string
	// logPath is the request's path as logs show it.
	logPath string
	// csrfSubject is what the forms' CSRF tokens are bound to: the
	// interaction, the accept page's invitation token, or the account
	// page's sign-in session.
	csrfSubject string
	// session is the sign-in session's cookie value on an account page.
	session string
	state   pageState
	// dirty says state changed and goes back with the response.
	dirty bool
	// preview says the page is the console's preview (Preview): rendered
	// inert, framed by this origin, a redirect rendering its screen;
	// depth counts those redirects.
	preview bool
	depth   int
}

// binding is the secret the page's CSRF tokens and state are bound to:
// the interaction's cookie on a sign-in page, the sign-in session's on an
// account page (told apart, so that neither stands for the other).
func (p *page) binding() string {
	if p.interaction != "" {
		return p.interaction
	}
	if p.session != "" {
		return "session\x00" + p.session
	}
	return ""
}

// takeNotice returns the notice the page state holds, in the page's
// language, and drops it so it shows once.
func (p *page) takeNotice() string {
	if p.state.Notice == "" {
		return ""
	}
	n := p.cat.text(p.state.Notice)
	p.state.Notice, p.dirty = "", true
	return n
}

// redirect answers a form with 303 See Other to path, saving the page
// state first.
func (p *page) redirect(path string) error {
	if p.preview {
		return p.previewRedirect(path)
	}
	if err := p.s.writeState(p.w, p.tenant, p.binding(), p.state); err != nil {
		return err
	}
	http.Redirect(p.w, p.r, path, http.StatusSeeOther)
	return nil
}

// errorPage renders the error page with one sentence.
func (p *page) errorPage(status int, key msg, args ...string) {
	v := p.view()
	v.Error = p.cat.text(key, args...)
	p.render(status, "error", v)
}

// fail renders the error page for an error no form field explains.
func (p *page) fail(err error) {
	var pe *pageError
	if errors.As(err, &pe) {
		p.errorPage(pe.status, pe.key, pe.args...)
		return
	}
	et := errorMessage(err)
	if et.key == "" {
		p.unexpected(err)
		return
	}
	p.retryAfter(err)
	p.errorPage(et.status, et.key, "wait", p.waitOf(err))
}

// logUnexpected logs a fault of the server with a reference for the page
// to show, and returns the reference.
func (p *page) logUnexpected(err error) string {
	ref := strings.ToUpper(fmt.Sprintf("%x", keyring.RandomBytes(4)))
	p.s.logger.ErrorContext(p.r.Context(), "page error", "errorId", ref, "path", p.logPath, "err", err)
	return ref
}

// unexpected renders the generic error page for a fault of the server.
func (p *page) unexpected(err error) {
	ref := p.logUnexpected(err)
	if p.cat == nil {
		p.cat = p.s.cats.byLang[defaultLanguage]
	}
	p.errorPage(http.StatusInternalServerError, msg("error.unexpected"), "reference", ref)
}

// pageError is an error a handler returns to show the error page with a
// given sentence.
type pageError struct {
	status int
	key    msg
	args   []string
}

func (e *pageError) Error() string { return string(e.key) }
