package pages

import (
	"net/http"
	"slices"
)

// signInData is what the identifier page shows.
type signInData struct {
	// Email is the address to fill in (the one of the last attempt).
	Email string
	// CanRegister offers registration (the tenant allows it).
	CanRegister bool
}

// signInPage is the identifier page: one email field.
func (s *Server) signInPage(p *page) error {
	v := p.view()
	v.Focus = "email"
	v.Notice = p.takeNotice()
	v.Data = signInData{Email: p.state.Email, CanRegister: registerAllowed(p)}
	p.render(http.StatusOK, "sign-in", v)
	return nil
}

// registerAllowed reports whether the tenant lets people create an
// account here.
func registerAllowed(p *page) bool {
	return slices.Contains(p.exp.SignUp.Identifiers, "email")
}
