package pages

import "github.com/authmail/authmail/internal/web"

// csrfField names the hidden form field that carries the CSRF token.
const csrfField = web.CSRFField

// csrfToken is the CSRF token of every form of an interaction: a keyed
// hash (the server secret) of the interaction cookie. A page of this
// origin knows it; another site cannot read it, nor make it for the
// cookie it cannot see; and it dies with the interaction. SameSite=Lax
// cookies alone would still let a same-site page post a form.
func (s *Server) csrfToken(tenantID, interaction string) string {
	return web.CSRFToken(s.Keys, tenantID, "pages.csrf", interaction)
}

// csrfValid reports whether a form's token is the interaction's, compared
// in constant time. Without an interaction no token is valid.
func (s *Server) csrfValid(tenantID, interaction, got string) bool {
	return web.CSRFValid(s.Keys, tenantID, "pages.csrf", interaction, got)
}
