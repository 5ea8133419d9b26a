package pages

import (
	"fmt"
	"net/http"

	"github.com/authmail/authmail/internal/experience"
	"github.com/authmail/authmail/internal/tenant"
)

// The screens Preview renders, by name.
const (
	ScreenSignIn   = "sign-in"
	ScreenPassword = "password"
	ScreenCode     = "verification-code"
	ScreenRegister = "register"
	ScreenForgot   = "forgot-password"
)

// PreviewScreens lists the screens Preview renders, the identifier page
// first.
func (s *Server) PreviewScreens() []string {
	return []string{ScreenSignIn, ScreenPassword, ScreenCode, ScreenRegister, ScreenForgot}
}

// Languages lists the pages' languages, the default first.
func (s *Server) Languages() []string { return s.cats.Langs }

// previewEmail is the address the preview's screens show.
const previewEmail = "name@example.com"

// Preview writes a screen of the hosted pages as a sign-in with the
// settings exp would show it, in lang: the same handlers and templates as
// the pages themselves, without an interaction, for the console's preview
// of unsaved settings. The page is inert (nothing in it can be focused or
// used, its forms carry no CSRF token and post nowhere an interaction is
// needed), and only a page of this origin may frame it. A screen the
// settings leave out shows what a browser would meet instead: the
// identifier page of a tenant that only registers is the registration
// page, the password page without password sign-in says the method is
// off. An unknown screen is the identifier page.
func (s *Server) Preview(w http.ResponseWriter, r *http.Request, exp tenant.Experience, screen, lang string) {
	p := &page{s: s, w: w, r: r, tenant: tenant.FromContext(r.Context()), exp: exp, preview: true}
	p.cat = s.cats.byLang[s.cats.choose([]string{lang}, "", false, exp.LanguageInfo.FallbackLanguage)]
	defer func() {
		if v := recover(); v != nil {
			p.unexpected(fmt.Errorf("preview panic on %s: %v", screen, v))
		}
	}()
	if err := s.previewScreen(p, screen, 0); err != nil {
		p.fail(err)
	}
}

// previewScreen renders one screen through its page's handler, with the
// page state a browser would have on it.
func (s *Server) previewScreen(p *page, screen string, depth int) error {
	p.depth = depth
	switch screen {
	case ScreenPassword:
		p.state = pageState{Email: previewEmail, Event: string(experience.EventSignIn)}
		return s.passwordPage(p)
	case ScreenCode:
		if !signInByCode(p.exp) {
			return &pageError{status: http.StatusForbidden, key: msg("error.method_not_enabled")}
		}
		p.state = pageState{Email: previewEmail, Event: string(experience.EventSignIn), VerificationID: "preview"}
		return s.codePage(signInFlow)(p)
	case ScreenRegister:
		p.state = pageState{}
		return s.registerPage(p)
	case ScreenForgot:
		p.state = pageState{}
		return s.forgotPage(p)
	}
	p.state = pageState{}
	return s.signInPage(p)
}

// previewRedirect renders, in a preview, the screen a page would send the
// browser to; a path that is no screen shows the identifier page.
func (p *page) previewRedirect(path string) error {
	if p.depth > 2 {
		return &pageError{status: http.StatusForbidden, key: msg("error.method_not_enabled")}
	}
	screen := ScreenSignIn
	switch path {
	case registerFlow.path:
		screen = ScreenRegister
	case passwordPath:
		screen = ScreenPassword
	case forgotFlow.path:
		screen = ScreenForgot
	}
	return p.s.previewScreen(p, screen, p.depth+1)
}
