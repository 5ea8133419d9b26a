package pages

import (
	"net/http"

	"github.com/authmail/authmail/internal/experience"
)

// registerData is what the registration page shows.
type registerData struct {
	Email string
	// CanSignIn links to the sign-in page.
	CanSignIn bool
}

// registerPage asks for the address of a new account. A tenant that does
// not register by email sends the browser to the sign-in page.
func (s *Server) registerPage(p *page) error {
	if !registerByEmail(p.exp) {
		if p.exp.SignInAllowed() {
			return p.redirect(signInFlow.path)
		}
		return &pageError{status: http.StatusForbidden, key: msg("error.register_off")}
	}
	v := p.view()
	v.Focus = "email"
	v.Notice = p.takeNotice()
	email := p.state.Email
	if email == "" {
		email = p.req.LoginHint
	}
	s.showRegister(p, http.StatusOK, v, email)
	return nil
}

func (s *Server) showRegister(p *page, status int, v view, email string) {
	_, signIn := emailMethod(p.exp)
	v.Data = registerData{Email: email, CanSignIn: signIn}
	p.render(status, "register", v)
}

// registerSubmit sends a registration code to the address.
func (s *Server) registerSubmit(p *page) error {
	if !registerByEmail(p.exp) {
		return &pageError{status: http.StatusForbidden, key: msg("error.register_off")}
	}
	email := p.formField("email")
	v := p.view()
	show := func(status int, v view) { s.showRegister(p, status, v, email) }
	if email == "" {
		p.setField(&v, "email", p.cat.text(msg("error.email_required")))
		show(http.StatusBadRequest, v)
		return nil
	}
	if err := s.Experience.SetEvent(p.r.Context(), p.caller, experience.EventRegister); err != nil {
		return p.refuse(err, "email", v, show)
	}
	p.state = pageState{Email: email, Event: string(experience.EventRegister)}
	if err := p.sendCode(registerFlow, email); err != nil {
		return p.refuseEmail(err, v, show)
	}
	return p.redirect(registerFlow.codePath())
}

// canSignInInstead reports whether the page state is a registration whose
// verified address has an account, which may sign in by code.
func (p *page) canSignInInstead() bool {
	return p.state.Email != "" && p.state.Event == string(experience.EventRegister) && p.state.VerificationID != "" && signInByCode(p.exp)
}

// existingAccountPage offers to sign in to the account a registering
// address already has, as Logto's "An account with ... already exists".
func (s *Server) existingAccountPage(p *page) error {
	if !p.canSignInInstead() {
		return p.redirect(registerFlow.path)
	}
	v := p.view()
	v.Focus = "confirm"
	v.Data = crossData{Email: p.state.Email}
	p.render(http.StatusOK, "existing-account", v)
	return nil
}

// existingAccountSubmit signs in with the verified address: the
// interaction turns into a sign-in, keeping the verified code.
func (s *Server) existingAccountSubmit(p *page) error {
	if !p.canSignInInstead() {
		return p.redirect(registerFlow.path)
	}
	ctx := p.r.Context()
	if err := s.Experience.SwitchEvent(ctx, p.caller, experience.EventSignIn); err != nil {
		return err
	}
	p.state.Event = string(experience.EventSignIn)
	p.dirty = true
	if _, err := s.Experience.Identify(ctx, p.caller, p.state.VerificationID); err != nil {
		return err
	}
	return p.finish()
}
