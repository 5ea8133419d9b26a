package pages

import (
	"net/http"

	"github.com/authmail/authmail/internal/experience"
)

// signInData is what the identifier page shows.
type signInData struct {
	// Email is the address to fill in: the one of the last attempt, else
	// the app's login_hint.
	Email string
	// CanRegister offers registration (the tenant allows it by email).
	CanRegister bool
}

// emailIdentifier is the identifier the experience takes for an address.
func emailIdentifier(email string) experience.Identifier {
	return experience.Identifier{Type: "email", Value: email}
}

// signInPage is the identifier page: one email field. A tenant that only
// registers sends the browser to the registration page.
func (s *Server) signInPage(p *page) error {
	if !p.exp.SignInAllowed() && registerByEmail(p.exp) {
		return p.redirect(registerFlow.path)
	}
	if _, ok := emailMethod(p.exp); !ok {
		return &pageError{status: http.StatusForbidden, key: msg("error.method_not_enabled")}
	}
	v := p.view()
	v.Focus = "email"
	v.Notice = p.takeNotice()
	email := p.state.Email
	if email == "" {
		email = p.req.LoginHint
	}
	s.showSignIn(p, http.StatusOK, v, email)
	return nil
}

func (s *Server) showSignIn(p *page, status int, v view, email string) {
	v.Data = signInData{Email: email, CanRegister: registerByEmail(p.exp)}
	p.render(status, "sign-in", v)
}

// signInSubmit starts a sign-in for the address: to the password page
// when the tenant puts passwords first, else a code is sent and the
// browser goes to the code page.
func (s *Server) signInSubmit(p *page) error {
	email := p.formField("email")
	v := p.view()
	show := func(status int, v view) { s.showSignIn(p, status, v, email) }
	if email == "" {
		p.setField(&v, "email", p.cat.text(msg("error.email_required")))
		show(http.StatusBadRequest, v)
		return nil
	}
	if _, ok := emailMethod(p.exp); !ok {
		return &pageError{status: http.StatusForbidden, key: msg("error.method_not_enabled")}
	}
	if err := s.Experience.SetEvent(p.r.Context(), p.caller, experience.EventSignIn); err != nil {
		return p.refuse(err, "email", v, show)
	}
	p.state = pageState{Email: email, Event: string(experience.EventSignIn)}
	if passwordFirst(p.exp) {
		return p.redirect(passwordPath)
	}
	if err := p.sendCode(signInFlow, email); err != nil {
		return p.refuseEmail(err, v, show)
	}
	return p.redirect(signInFlow.codePath())
}

// refuseEmail refuses an identifier form: an address the service finds
// malformed gets the sentence that says so.
func (p *page) refuseEmail(err error, v view, show func(int, view)) error {
	if isCode(err, "guard.invalid_input") {
		p.setField(&v, "email", p.cat.text(msg("error.email_invalid")))
		show(http.StatusBadRequest, v)
		return nil
	}
	return p.refuse(err, "email", v, show)
}

// passwordData is what the password page shows.
type passwordData struct {
	Email string
	// CanUseCode offers a code instead; CanReset links to forgot password.
	CanUseCode, CanReset bool
	// OfferMfa offers to turn on the email code as a second factor.
	OfferMfa bool
}

// inSignIn reports whether the page state is a sign-in's with an address.
func (p *page) inSignIn() bool {
	return p.state.Email != "" && p.state.Event == string(experience.EventSignIn)
}

// passwordPage asks for the password of the address the identifier page
// took.
func (s *Server) passwordPage(p *page) error {
	if !signInByPassword(p.exp) {
		return &pageError{status: http.StatusForbidden, key: msg("error.method_not_enabled")}
	}
	if !p.inSignIn() {
		return p.redirect(signInFlow.path)
	}
	v := p.view()
	v.Focus = "password"
	v.Notice = p.takeNotice()
	s.showPassword(p, http.StatusOK, v)
	return nil
}

func (s *Server) showPassword(p *page, status int, v view) {
	v.Data = passwordData{Email: p.state.Email, CanUseCode: signInByCode(p.exp), CanReset: p.exp.ForgotPasswordByEmail(), OfferMfa: offersMfa(p.exp)}
	p.render(status, "password", v)
}

// passwordSubmit signs in with the address and the password.
func (s *Server) passwordSubmit(p *page) error {
	if !signInByPassword(p.exp) {
		return &pageError{status: http.StatusForbidden, key: msg("error.method_not_enabled")}
	}
	if !p.inSignIn() {
		return p.redirect(signInFlow.path)
	}
	pw := p.r.PostForm.Get("password")
	v := p.view()
	show := func(status int, v view) { s.showPassword(p, status, v) }
	if pw == "" {
		p.setField(&v, "password", p.cat.text(msg("error.password_required")))
		show(http.StatusBadRequest, v)
		return nil
	}
	ctx := p.r.Context()
	if err := s.Experience.SetEvent(ctx, p.caller, experience.EventSignIn); err != nil {
		return p.refuse(err, "password", v, show)
	}
	id, err := s.Experience.VerifyPassword(ctx, p.caller, emailIdentifier(p.state.Email), pw)
	if err != nil {
		return p.refuse(err, "password", v, show)
	}
	if _, err := s.Experience.Identify(ctx, p.caller, id); err != nil {
		return p.refuse(err, "", v, show)
	}
	if offersMfa(p.exp) && p.r.PostForm.Get("mfa") == "on" {
		return p.startMfa()
	}
	return p.finish()
}

// crossData is what a cross-over page shows: the address it is about.
type crossData struct {
	Email string
}

// canCreateAccount reports whether the page state is a sign-in whose
// verified address has no account, which the tenant lets register.
func (p *page) canCreateAccount() bool {
	return p.inSignIn() && p.state.VerificationID != "" && registerByEmail(p.exp)
}

// createAccountPage offers to create the account a signed-in address
// lacks, as Logto's "No account found for ... Create a new one?".
func (s *Server) createAccountPage(p *page) error {
	if !p.canCreateAccount() {
		return p.redirect(signInFlow.path)
	}
	v := p.view()
	v.Focus = "confirm"
	v.Data = crossData{Email: p.state.Email}
	p.render(http.StatusOK, "create-account", v)
	return nil
}

// createAccountSubmit registers the verified address: the interaction
// turns into a registration, keeping the verified code.
func (s *Server) createAccountSubmit(p *page) error {
	if !p.canCreateAccount() {
		return p.redirect(signInFlow.path)
	}
	ctx := p.r.Context()
	if err := s.Experience.SwitchEvent(ctx, p.caller, experience.EventRegister); err != nil {
		return err
	}
	p.state.Event = string(experience.EventRegister)
	p.dirty = true
	_, err := s.Experience.Identify(ctx, p.caller, p.state.VerificationID)
	if done, perr := p.toProfile(err); done {
		return perr
	}
	if err != nil {
		return err
	}
	return p.finish()
}
