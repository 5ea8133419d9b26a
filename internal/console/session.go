package console

import (
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/authmail/authmail/internal/apps"
	"github.com/authmail/authmail/internal/identity"
	"github.com/authmail/authmail/internal/keyring"
	"github.com/authmail/authmail/internal/relyingparty"
	"github.com/authmail/authmail/internal/store"
	"github.com/authmail/authmail/internal/web"
)

// Cookies of the console. Each is HttpOnly, SameSite=Strict, limited to
// the console's path, and Secure when the public URL is https.
const (
	// sessionCookie carries a console session's random token; the database
	// keeps only its keyed hash.
	sessionCookie = "authmail_console"
	// preCookie binds the CSRF token of the forms shown before signing in
	// (the sign-in form, the language choice).
	preCookie = "authmail_console_pre"
	// langCookie keeps the language chosen in the console's footer.
	langCookie = "authmail_console_lang"
)

// SessionLifetime is how long a console session lasts; signing out ends
// it sooner, and so does replacing the admin key.
const SessionLifetime = 12 * time.Hour

// Purposes of the keyed hashes the console derives.
const (
	purposeSession = "console.session"
	purposeCSRF    = "console.csrf"
	purposePre     = "console.pre"
	purposeKey     = "console.key"
)

// setCookie sets one of the console's cookies; maxAge < 0 deletes it, 0
// makes it last as long as the browser.
func (s *Server) setCookie(w http.ResponseWriter, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: Prefix, MaxAge: maxAge, HttpOnly: true,
		Secure: s.SecureCookies, SameSite: http.SameSiteStrictMode})
}

// newToken is a random cookie value of 256 bits.
func newToken() string { return base64.RawURLEncoding.EncodeToString(keyring.RandomBytes(32)) }

// keyCheck ties a session to the tenant's admin key as it is now.
func (s *Server) keyCheck(p *page) (string, error) {
	v, err := s.Tenants.AdminKeyVersion(p.r.Context(), p.tenant)
	if err != nil || v == "" {
		return "", err
	}
	return s.Keys.IdentifierHash(p.tenant, purposeKey, v), nil
}

// readSession finds the request's console session: a cookie whose keyed
// hash is a session of the tenant that has not expired and began with
// the admin key in force. It also reads the pre-sign-in cookie. A
// database failure is an error, not a signed-out browser.
func (s *Server) readSession(p *page) (bool, error) {
	if c, err := p.r.Cookie(preCookie); err == nil && len(c.Value) >= 32 {
		p.pre = c.Value
	}
	c, err := p.r.Cookie(sessionCookie)
	if err != nil || len(c.Value) < 32 {
		return false, nil
	}
	sess, err := s.Store.ConsoleSessionGet(p.r.Context(), p.tenant, s.Keys.IdentifierHash(p.tenant, purposeSession, c.Value))
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if !s.Now().Before(sess.ExpiresAt) {
		return false, nil
	}
	if sess.UserID != "" {
		// An administrator's session lasts while the user may still
		// sign in and holds the admin role.
		ok, err := s.mayAdminister(p, sess.UserID)
		if err != nil || !ok {
			return false, err
		}
		p.session = c.Value
		return true, nil
	}
	check, err := s.keyCheck(p)
	if err != nil {
		return false, err
	}
	if check == "" || check != sess.KeyCheck {
		return false, nil
	}
	p.session = c.Value
	return true, nil
}

// csrfToken is the token the page's forms carry: bound to the session
// when signed in, else to the pre-sign-in cookie.
func (s *Server) csrfToken(p *page) string {
	if p.session != "" {
		return web.CSRFToken(s.Keys, p.tenant, purposeCSRF, p.session)
	}
	return web.CSRFToken(s.Keys, p.tenant, purposePre, p.pre)
}

// csrfValid reports whether a form's token is the one csrfToken gives.
func (s *Server) csrfValid(p *page, got string) bool {
	if p.session != "" {
		return web.CSRFValid(s.Keys, p.tenant, purposeCSRF, p.session, got)
	}
	return web.CSRFValid(s.Keys, p.tenant, purposePre, p.pre, got)
}

// ensurePre gives a browser without a session the cookie its forms' CSRF
// token is bound to.
func (s *Server) ensurePre(p *page) {
	if p.session == "" && p.pre == "" {
		p.pre = newToken()
		s.setCookie(p.w, preCookie, p.pre, 0)
	}
}

// signInData is what the sign-in page shows.
type signInData struct {
	// Next is where to go once signed in.
	Next string
	// Account offers signing in with an administrator's account.
	Account bool
}

// signInPage asks for the admin key; a browser already signed in goes on.
func (s *Server) signInPage(p *page) error {
	next := safeNext(p.r.URL.Query().Get("next"))
	if p.session != "" {
		return p.redirect(next)
	}
	s.ensurePre(p)
	v := p.view("")
	v.Focus = "key"
	v.Data = signInData{Next: next, Account: s.Account != nil}
	p.render(http.StatusOK, "sign-in", v)
	return nil
}

// signIn checks the admin key (in constant time, as the API does) and
// starts a session: a new random token, of which the database keeps a
// keyed hash, in a cookie. A wrong key shows the form again.
func (s *Server) signIn(p *page) error {
	key := strings.TrimSpace(p.r.PostForm.Get("key"))
	next := safeNext(p.r.PostForm.Get("next"))
	ok := false
	if key != "" {
		var err error
		if ok, err = s.Tenants.AdminKeyValid(p.r.Context(), p.tenant, key); err != nil {
			return err
		}
	}
	if !ok {
		s.logger.InfoContext(p.r.Context(), "console sign-in refused: wrong admin key")
		v := p.view("")
		v.Focus = "key"
		v.Fields = map[string]string{"key": p.cat.text(msg("sign_in.wrong_key"))}
		if key == "" {
			v.Fields["key"] = p.cat.text(msg("sign_in.key_required"))
		}
		v.Data = signInData{Next: next, Account: s.Account != nil}
		p.render(http.StatusUnauthorized, "sign-in", v)
		return nil
	}
	check, err := s.keyCheck(p)
	if err != nil {
		return err
	}
	if err := s.startSession(p, check, ""); err != nil {
		return err
	}
	return p.redirect(next)
}

// mayAdminister reports whether a user exists, is not suspended and
// holds the admin role.
func (s *Server) mayAdminister(p *page, userID string) (bool, error) {
	u, err := s.Users.Get(p.r.Context(), p.tenant, userID)
	if errors.Is(err, identity.ErrUserNotFound) {
		return false, nil
	}
	if err != nil || u.IsSuspended {
		return false, err
	}
	return s.Apps.HoldsRole(p.r.Context(), p.tenant, userID, apps.AdminRoleID)
}

// startSession records a console session, of the admin key (keyCheck) or
// of a user, and gives the browser its cookie.
func (s *Server) startSession(p *page, keyCheck, userID string) error {
	token, now := newToken(), s.Now()
	if err := s.Store.WriteQ().ConsoleSessionInsert(p.r.Context(), store.ConsoleSession{TenantID: p.tenant,
		IDHash: s.Keys.IdentifierHash(p.tenant, purposeSession, token), KeyCheck: keyCheck, UserID: userID, CreatedAt: now,
		ExpiresAt: now.Add(SessionLifetime)}); err != nil {
		return err
	}
	s.setCookie(p.w, sessionCookie, token, int(SessionLifetime/time.Second))
	s.setCookie(p.w, preCookie, "", -1)
	s.logger.InfoContext(p.r.Context(), "console session started", "user", userID)
	return nil
}

// signInWithAccount sends the browser to the hosted sign-in pages as the
// provider's built-in console application; it comes back to
// accountCallback.
func (s *Server) signInWithAccount(p *page) error {
	if s.Account == nil {
		return p.redirect(Prefix + "/sign-in")
	}
	next := safeNext(p.r.URL.Query().Get("next"))
	if p.session != "" {
		return p.redirect(next)
	}
	return s.Account.Begin(p.w, p.r, relyingparty.Start{Next: next, UILocales: p.cat.Lang})
}

// accountCallback finishes a sign-in through the hosted pages: the code
// is exchanged and the ID token checked, and a user who may administer
// the tenant gets a console session; anyone else sees the sign-in page
// again with the reason.
func (s *Server) accountCallback(p *page) error {
	if s.Account == nil {
		return p.redirect(Prefix + "/sign-in")
	}
	who, next, err := s.Account.Finish(p.w, p.r)
	var refused *relyingparty.RefusedError
	switch {
	case errors.Is(err, relyingparty.ErrState):
		return s.signInRefused(p, http.StatusBadRequest, msg("sign_in.account_state"), "")
	case errors.As(err, &refused):
		s.logger.InfoContext(p.r.Context(), "console sign-in refused by the provider", "error", refused.Code)
		return s.signInRefused(p, http.StatusBadRequest, msg("sign_in.account_refused"), next)
	case err != nil:
		return err
	}
	ok, err := s.mayAdminister(p, who.Subject)
	if err != nil {
		return err
	}
	if !ok {
		s.logger.InfoContext(p.r.Context(), "console sign-in refused: the user is not an administrator", "user", who.Subject)
		return s.signInRefused(p, http.StatusForbidden, msg("sign_in.account_not_admin"), next)
	}
	if err := s.startSession(p, "", who.Subject); err != nil {
		return err
	}
	return p.redirect(safeNext(next))
}

// signInRefused shows the sign-in page with why the sign-in failed.
func (s *Server) signInRefused(p *page, status int, why msg, next string) error {
	s.ensurePre(p)
	v := p.view("")
	v.Error = p.cat.text(why)
	v.Data = signInData{Next: safeNext(next), Account: s.Account != nil}
	p.render(status, "sign-in", v)
	return nil
}

// signOut ends the session in the database and in the browser.
func (s *Server) signOut(p *page) error {
	if err := s.Store.WriteQ().ConsoleSessionDelete(p.r.Context(), p.tenant, s.Keys.IdentifierHash(p.tenant, purposeSession, p.session)); err != nil {
		return err
	}
	s.setCookie(p.w, sessionCookie, "", -1)
	return p.redirect(Prefix + "/sign-in?notice=signed_out")
}

// chosenLanguage is the language chosen in the footer, if any.
func chosenLanguage(r *http.Request) []string {
	if c, err := r.Cookie(langCookie); err == nil && c.Value != "" {
		return []string{c.Value}
	}
	return nil
}

// setLanguage keeps the language chosen in the footer and goes back to
// the page it was chosen on.
func (s *Server) setLanguage(p *page) error {
	lang := s.cats.MatchString(p.r.PostForm.Get("lang"))
	if lang == "" {
		p.errorPage(http.StatusBadRequest, msg("error.bad_form"))
		return nil
	}
	s.setCookie(p.w, langCookie, lang, 365*24*3600)
	back := safeNext(p.r.PostForm.Get("back"))
	if p.session == "" {
		back = signInPath(back)
	}
	return p.redirect(back)
}
