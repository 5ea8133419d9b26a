// Package console is the admin console at /console, served by the same
// binary: an admin signs in with the admin key and sets up email in the
// browser, as in the product authmail follows. Pick an email connector
// from the catalog, read its guide beside a form made from its JSON
// Schema, check the connection, send a test and save; edit the email
// templates with a live preview and the branding; check the sending
// domain's DNS and make a DKIM key; read the delivery log (and retry a
// failed message) and the dev inbox.
//
// Pages are rendered on the server with html/template from embedded
// templates and assets (internal/web), in English and French; every form
// is a plain POST with a CSRF token, answered by a redirect or by the same
// page with the reasons next to the fields. A little embedded JavaScript
// adds the live template preview. Handlers decode the form, call one
// service (the ones the management API calls: connconfig, sendcode,
// savedtemplates, tenant, delivery, dnscheck, dkimkey) and render; the
// console never calls the API.
package console

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/authmail/authmail/internal/apps"
	"github.com/authmail/authmail/internal/connconfig"
	"github.com/authmail/authmail/internal/delivery"
	"github.com/authmail/authmail/internal/identity"
	"github.com/authmail/authmail/internal/keyring"
	"github.com/authmail/authmail/internal/orgs"
	"github.com/authmail/authmail/internal/relyingparty"
	"github.com/authmail/authmail/internal/savedtemplates"
	"github.com/authmail/authmail/internal/sendcode"
	"github.com/authmail/authmail/internal/store"
	"github.com/authmail/authmail/internal/tenant"
	"github.com/authmail/authmail/internal/verification"
	"github.com/authmail/authmail/internal/web"
)

// Deps are the services the console uses.
type Deps struct {
	// Store keeps the console sessions and reads the active connector.
	Store *store.Store
	// Tenants holds the settings, the admin key and the connector delete rule.
	Tenants *tenant.Settings
	// Keys hashes session cookies and derives CSRF tokens.
	Keys *keyring.Keyring
	// Configs holds the saved connector configs.
	Configs *connconfig.Service
	// Codes checks, test-sends and previews.
	Codes *sendcode.Service
	// Templates holds the saved email templates.
	Templates *savedtemplates.Service
	// Delivery holds the message log and the dev inbox.
	Delivery *delivery.Service
	// Connectors gives the active connector (deliverability defaults).
	Connectors *delivery.Connectors
	// Users holds the tenant's users.
	Users *identity.Service
	// Apps holds the tenant's applications and the roles they hold.
	Apps *apps.Service
	// Orgs holds the organizations, their members, roles and
	// invitations.
	Orgs *orgs.Service
	// Verification lists and lifts the lockouts.
	Verification *verification.Service
	// Preview renders the hosted pages for the sign-in experience's
	// preview pane; nil leaves the page without one.
	Preview Previewer
	// Account signs administrators in through the hosted pages (the
	// provider's built-in console application); nil offers only the
	// admin key.
	Account *relyingparty.RP
	// DNSResolver is the nameserver deliverability checks query ("" is the
	// system's).
	DNSResolver string
	Logger      *slog.Logger
	// Now is the clock.
	Now func() time.Time
	// SecureCookies marks the console's cookies Secure (the public URL is
	// https).
	SecureCookies bool
}

// Server serves the console.
type Server struct {
	Deps
	logger *slog.Logger
	cats   *catalogues
	views  *web.Views
	readme *readmes
	routes []route
}

// Prefix is the path the console is served under.
const Prefix = "/console"

// route is one console operation: the same table registers the handlers
// and is what the documentation's list of console routes is checked
// against.
type route struct {
	method, path string
	// public routes answer without a console session (signing in, the
	// language); every other one sends a browser without one to sign in.
	public  bool
	handler func(p *page) error
}

// New builds the console; it fails only when the embedded templates,
// catalogues or guides are broken.
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
	views, err := parseViews(cats)
	if err != nil {
		return nil, err
	}
	rm, err := renderReadmes()
	if err != nil {
		return nil, err
	}
	s := &Server{Deps: d, logger: d.Logger.With("component", "console"), cats: cats, views: views, readme: rm}
	s.routes = s.routeTable()
	return s, nil
}

func (s *Server) routeTable() []route {
	return []route{
		{method: "GET", path: "/console", handler: s.overviewPage},
		{method: "GET", path: "/console/sign-in", public: true, handler: s.signInPage},
		{method: "POST", path: "/console/sign-in", public: true, handler: s.signIn},
		{method: "GET", path: "/console/sign-in/account", public: true, handler: s.signInWithAccount},
		{method: "GET", path: "/console/callback", public: true, handler: s.accountCallback},
		{method: "POST", path: "/console/sign-out", handler: s.signOut},
		{method: "POST", path: "/console/language", public: true, handler: s.setLanguage},
		{method: "GET", path: "/console/connectors", handler: s.connectorsPage},
		{method: "GET", path: "/console/connectors/setup/{factoryId}", handler: s.setupPage},
		{method: "POST", path: "/console/connectors/setup/{factoryId}", handler: s.setup},
		{method: "GET", path: "/console/connectors/delete/{id}", handler: s.deletePage},
		{method: "POST", path: "/console/connectors/delete/{id}", handler: s.deleteConnector},
		{method: "GET", path: "/console/templates", handler: s.templatesPage},
		{method: "GET", path: "/console/templates/{usage}/{lang}", handler: s.editorPage},
		{method: "POST", path: "/console/templates/{usage}/{lang}", handler: s.saveTemplate},
		{method: "POST", path: "/console/templates/{usage}/{lang}/reset", handler: s.resetTemplate},
		{method: "POST", path: "/console/templates/preview", handler: s.previewTemplate},
		{method: "GET", path: "/console/branding", handler: s.brandingPage},
		{method: "POST", path: "/console/branding", handler: s.saveBranding},
		{method: "GET", path: "/console/deliverability", handler: s.deliverabilityPage},
		{method: "POST", path: "/console/deliverability/dkim", handler: s.makeDKIMKey},
		{method: "GET", path: "/console/messages", handler: s.messagesPage},
		{method: "GET", path: "/console/messages/{id}", handler: s.messagePage},
		{method: "POST", path: "/console/messages/{id}/retry", handler: s.retryMessage},
		{method: "GET", path: "/console/inbox", handler: s.inboxPage},
		{method: "GET", path: "/console/inbox/{id}", handler: s.inboxMessagePage},
		{method: "GET", path: "/console/sign-in-experience", handler: s.signInExpPage},
		{method: "POST", path: "/console/sign-in-experience", handler: s.saveSignInExp},
		{method: "POST", path: "/console/sign-in-experience/lockouts/{id}/lift", handler: s.liftLockout},
		{method: "GET", path: "/console/sign-in-experience/preview", handler: s.previewSavedSignInExp},
		{method: "POST", path: "/console/sign-in-experience/preview", handler: s.previewSignInExp},
		{method: "GET", path: "/console/users", handler: s.usersPage},
		{method: "POST", path: "/console/users", handler: s.createUser},
		{method: "GET", path: "/console/users/{id}", handler: s.userPage},
		{method: "POST", path: "/console/users/{id}/suspend", handler: s.suspendUser},
		{method: "POST", path: "/console/users/{id}/admin", handler: s.setUserAdmin},
		{method: "POST", path: "/console/users/{id}/password", handler: s.setUserPassword},
		{method: "GET", path: "/console/applications", handler: s.applicationsPage},
		{method: "POST", path: "/console/applications", handler: s.createApplication},
		{method: "GET", path: "/console/applications/{id}", handler: s.applicationPage},
		{method: "POST", path: "/console/applications/{id}", handler: s.saveApplication},
		{method: "GET", path: "/console/organizations", handler: s.organizationsPage},
		{method: "POST", path: "/console/organizations", handler: s.createOrganization},
		{method: "GET", path: "/console/organizations/{id}", handler: s.organizationPage},
		{method: "POST", path: "/console/organizations/{id}/members", handler: s.addMember},
		{method: "POST", path: "/console/organizations/{id}/members/{userId}/remove", handler: s.removeMember},
		{method: "POST", path: "/console/organizations/{id}/members/{userId}/roles", handler: s.giveRole},
		{method: "POST", path: "/console/organizations/{id}/members/{userId}/roles/{roleId}/remove", handler: s.takeRole},
		{method: "POST", path: "/console/organizations/{id}/invitations", handler: s.invite},
		{method: "POST", path: "/console/organizations/{id}/invitations/{invitationId}/resend", handler: s.resendInvitation},
		{method: "POST", path: "/console/organizations/{id}/invitations/{invitationId}/revoke", handler: s.revokeInvitation},
		{method: "GET", path: "/console/organization-roles", handler: s.organizationRolesPage},
		{method: "POST", path: "/console/organization-roles", handler: s.createOrganizationRole},
	}
}

// Mount registers every console route, and the assets, on mux.
func (s *Server) Mount(mux *http.ServeMux) {
	for _, rt := range s.routes {
		mux.Handle(rt.method+" "+rt.path, s.wrap(rt))
	}
	mux.Handle("GET "+assetPrefix+"{name}", web.Headers(assets))
	mux.Handle(Prefix+"/", web.Headers(http.HandlerFunc(s.notFound)))
}

// Routes lists the console routes as "METHOD /path", in the order of the
// route table, the assets' last.
func (s *Server) Routes() []string {
	var out []string
	for _, rt := range s.routes {
		out = append(out, rt.method+" "+rt.path)
	}
	return append(out, "GET "+assetPrefix+"{name}")
}

// Handler serves the console alone.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	s.Mount(mux)
	return mux
}

// maxForm bounds a form body; the largest is a template's HTML.
const maxForm = 1 << 20

// wrap resolves what every page needs (the tenant, the language, the
// session), sends a browser without a session to sign in, checks the CSRF
// token of a POST, and turns a handler's error into an error page.
func (s *Server) wrap(rt route) http.Handler {
	return web.Headers(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := &page{s: s, w: w, r: r, tenant: tenant.Default}
		defer func() {
			if v := recover(); v != nil {
				p.unexpected(fmt.Errorf("console panic on %s: %v", r.URL.Path, v))
			}
		}()
		r = r.WithContext(tenant.NewContext(r.Context(), p.tenant))
		p.r = r
		p.cat = s.cats.byLang[s.cats.Choose(chosenLanguage(r), r.Header.Get("Accept-Language"), true, "")]
		signedIn, err := s.readSession(p)
		if err != nil {
			p.fail(err)
			return
		}
		if !signedIn && !rt.public {
			if r.Method == http.MethodGet {
				http.Redirect(w, r, signInPath(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			p.errorPage(http.StatusUnauthorized, msg("error.signed_out"))
			return
		}
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, maxForm)
			if err := r.ParseForm(); err != nil {
				p.errorPage(http.StatusBadRequest, msg("error.bad_form"))
				return
			}
			if !s.csrfValid(p, r.PostForm.Get(web.CSRFField)) {
				s.logger.InfoContext(r.Context(), "console form refused: CSRF token missing or wrong", "path", r.URL.Path)
				p.errorPage(http.StatusForbidden, msg("error.csrf"))
				return
			}
		}
		if err := rt.handler(p); err != nil {
			p.fail(err)
		}
	}))
}

// notFound answers a console path no route serves.
func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	p := &page{s: s, w: w, r: r, tenant: tenant.Default}
	p.cat = s.cats.byLang[s.cats.Choose(chosenLanguage(r), r.Header.Get("Accept-Language"), true, "")]
	if _, err := s.readSession(p); err != nil {
		p.fail(err)
		return
	}
	p.errorPage(http.StatusNotFound, msg("error.not_found"))
}

// signInPath is the sign-in page that returns to next afterwards.
func signInPath(next string) string {
	if next == "" || next == Prefix {
		return Prefix + "/sign-in"
	}
	return Prefix + "/sign-in?next=" + url.QueryEscape(next)
}

// safeNext is where to go after signing in: a console path of this
// origin, else the overview.
func safeNext(next string) string {
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || strings.HasPrefix(next, "//") || strings.Contains(next, "\\") ||
		(u.Path != Prefix && !strings.HasPrefix(u.Path, Prefix+"/")) || strings.HasPrefix(u.Path, Prefix+"/sign-") {
		return Prefix
	}
	return u.RequestURI()
}

// page is one request to a console page: what wrap resolved, and the
// helpers a handler renders and redirects with.
type page struct {
	s      *Server
	w      http.ResponseWriter
	r      *http.Request
	tenant string
	cat    *catalogue
	// session is the session cookie's value when it opens a live session.
	session string
	// pre is the cookie that binds the CSRF token of the forms shown
	// before signing in.
	pre string
}

// redirect answers a form with 303 See Other to path.
func (p *page) redirect(path string) error {
	http.Redirect(p.w, p.r, path, http.StatusSeeOther)
	return nil
}

// errorPage renders the error page with one sentence.
func (p *page) errorPage(status int, key msg, args ...string) {
	v := p.view("")
	v.Error = p.cat.text(key, args...)
	p.render(status, "error", v)
}

// fail renders the error page for an error no form field explains.
func (p *page) fail(err error) {
	var nf *orgs.NotFoundError
	var oe *orgs.Error
	switch {
	case errors.Is(err, store.ErrNotFound), errors.Is(err, identity.ErrUserNotFound), errors.Is(err, apps.ErrNotFound), errors.As(err, &nf):
		p.errorPage(http.StatusNotFound, msg("error.not_found"))
	case errors.As(err, &oe):
		p.errorPage(oe.Status, msg("error.refused"), "reason", oe.Message)
	case errors.Is(err, store.ErrUnavailable):
		p.w.Header().Set("Retry-After", "5")
		p.errorPage(http.StatusServiceUnavailable, msg("error.unavailable"))
	default:
		p.unexpected(err)
	}
}

// logUnexpected logs a fault of the server with a reference for the page
// to show, and returns the reference.
func (p *page) logUnexpected(err error) string {
	ref := strings.ToUpper(fmt.Sprintf("%x", keyring.RandomBytes(4)))
	p.s.logger.ErrorContext(p.r.Context(), "console error", "errorId", ref, "path", p.r.URL.Path, "err", err)
	return ref
}

// unexpected renders the error page for a fault of the server.
func (p *page) unexpected(err error) {
	ref := p.logUnexpected(err)
	if p.cat == nil {
		p.cat = p.s.cats.byLang[web.DefaultLanguage]
	}
	p.errorPage(http.StatusInternalServerError, msg("error.unexpected"), "reference", ref)
}
