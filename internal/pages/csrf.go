package pages

import "crypto/subtle"

// csrfField names the hidden form field that carries the CSRF token.
const csrfField = "csrf"

// csrfToken is the CSRF token of every form of an interaction: a keyed
// hash (the server secret) of the interaction cookie. A page of this
// origin knows it; another site cannot read it, nor make it for the
// cookie it cannot see; and it dies with the interaction. SameSite=Lax
// cookies alone would still let a same-site page post a form.
func (s *Server) csrfToken(tenantID, interaction string) string {
	if interaction == "" {
		return ""
	}
	return s.Keys.IdentifierHash(tenantID, "pages.csrf", interaction)
}

// csrfValid reports whether a form's token is the interaction's, compared
// in constant time. Without an interaction no token is valid.
func (s *Server) csrfValid(tenantID, interaction, got string) bool {
	want := s.csrfToken(tenantID, interaction)
	return want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}
