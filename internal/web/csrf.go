package web

import (
	"crypto/subtle"

	"github.com/authmail/authmail/internal/keyring"
)

// CSRFField names the hidden form field that carries the CSRF token.
const CSRFField = "csrf"

// CSRFToken is the CSRF token of the forms a cookie value (binding)
// guards: a keyed hash (the server secret) of it under purpose. A page of
// this origin knows it; another site can neither read it nor make it for
// a cookie it cannot see; and it dies with the cookie. No binding, no
// token.
func CSRFToken(keys *keyring.Keyring, tenant, purpose, binding string) string {
	if binding == "" {
		return ""
	}
	return keys.IdentifierHash(tenant, purpose, binding)
}

// CSRFValid reports whether got is binding's token, compared in constant
// time. Without a binding no token is valid.
func CSRFValid(keys *keyring.Keyring, tenant, purpose, binding, got string) bool {
	want := CSRFToken(keys, tenant, purpose, binding)
	return want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}
