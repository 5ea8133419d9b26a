package oidc

import "net/http"

// Auth is how a caller of an endpoint proves who it is.
type Auth int

const (
	// AuthNone: anyone may call it.
	AuthNone Auth = iota
	// AuthClient: the application authenticates (client_secret_basic or
	// client_secret_post; a public client sends only its client_id).
	AuthClient
	// AuthBearer: an access token the provider issued, as a Bearer header.
	AuthBearer
)

// Field is a query parameter or a form field of an endpoint.
type Field struct {
	Name, Description string
	Required          bool
	// Enum, when set, lists the values accepted.
	Enum []string
}

// Operation describes one of the provider's endpoints, for the OpenAPI
// document: the paths are the served ones (under Prefix), and a test holds
// the list to the discovery document and the handlers.
type Operation struct {
	Method, Path, Summary string
	Auth                  Auth
	Query, Form           []Field
	// Status is the success status: 200, or 302 for a redirect.
	Status int
	// Response is the Go type of a JSON success body; nil for a redirect
	// or a page.
	Response any
	// Browser marks an endpoint a person's browser calls: its refusals
	// are pages (text/html), not OAuth errors.
	Browser bool
}

// TokenResponse is the token endpoint's answer (RFC 6749 section 5.1,
// OpenID Connect Core section 3.1.3.3).
type TokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in,omitempty"`
	RefreshToken string `json:"refresh_token,omitempty"`
	IDToken      string `json:"id_token,omitempty"`
	// Scope is the granted scopes, space-separated.
	Scope string `json:"scope,omitempty"`
}

// KeySet is the JWKS document (RFC 7517): the public signing keys.
type KeySet struct {
	Keys []map[string]any `json:"keys"`
}

// OAuthError is an OAuth error answer (RFC 6749 section 5.2).
type OAuthError struct {
	Error       string `json:"error"`
	Description string `json:"error_description,omitempty"`
}

// authorizeQuery are the authorization request's parameters.
func authorizeQuery() []Field {
	return []Field{
		{Name: "client_id", Required: true, Description: "The application's ID"},
		{Name: "redirect_uri", Required: true, Description: "One of the application's redirect URIs, exactly as registered"},
		{Name: "response_type", Required: true, Enum: []string{"code"}, Description: "The authorization code flow"},
		{Name: "scope", Required: true, Description: "Space-separated scopes; openid is required"},
		{Name: "state", Description: "Returned to the redirect URI unchanged"},
		{Name: "nonce", Description: "Copied into the ID token"},
		{Name: "code_challenge", Description: "PKCE (RFC 7636); required of public clients"},
		{Name: "code_challenge_method", Enum: []string{"S256"}, Description: "Only S256"},
		{Name: "prompt", Description: "login asks again despite a sign-in session; none forbids a sign-in page (login_required)"},
		{Name: "ui_locales", Description: "The languages of the sign-in pages and the email, best first"},
		{Name: "login_hint", Description: "The email address to fill in"},
		{Name: "first_screen", Enum: []string{"sign_in", "register", "reset_password"}, Description: "Logto's: the hosted page to open"},
		{Name: "resource", Description: "An API resource indicator (RFC 8707) to issue a JWT access token for"},
		{Name: "response_mode", Enum: []string{"query", "form_post"}, Description: "How the code reaches the redirect URI"},
	}
}

// endSessionQuery are the RP-initiated logout parameters.
func endSessionQuery() []Field {
	return []Field{
		{Name: "id_token_hint", Description: "An ID token the provider issued, naming the application"},
		{Name: "client_id", Description: "The application, when there is no id_token_hint"},
		{Name: "post_logout_redirect_uri", Description: "One of the application's post-logout redirect URIs, exactly as registered"},
		{Name: "state", Description: "Returned to the post-logout redirect URI"},
	}
}

// tokenForm are the token endpoint's form fields, for every grant.
func tokenForm() []Field {
	return []Field{
		{Name: "grant_type", Required: true, Enum: []string{"authorization_code", "refresh_token", "client_credentials"}},
		{Name: "code", Description: "authorization_code: the code the redirect URI received"},
		{Name: "redirect_uri", Description: "authorization_code: the redirect URI of the authorization request"},
		{Name: "code_verifier", Description: "authorization_code: the PKCE verifier"},
		{Name: "refresh_token", Description: "refresh_token: the refresh token, rotated on use"},
		{Name: "scope", Description: "Space-separated scopes; for client_credentials, the resource's"},
		{Name: "resource", Description: "An API resource indicator (RFC 8707): the access token is a JWT for it; client_credentials requires one"},
		{Name: "client_id", Description: "client_secret_post, or a public client"},
		{Name: "client_secret", Description: "client_secret_post"},
	}
}

// tokenHintForm are the revocation and introspection endpoints' fields.
func tokenHintForm() []Field {
	return []Field{
		{Name: "token", Required: true, Description: "An access or refresh token"},
		{Name: "token_type_hint", Enum: []string{"access_token", "refresh_token"}},
		{Name: "client_id", Description: "client_secret_post, or a public client"},
		{Name: "client_secret", Description: "client_secret_post"},
	}
}

// Operations lists every endpoint the provider serves.
func Operations() []Operation {
	const ok, found = http.StatusOK, http.StatusFound
	return []Operation{
		{Method: "GET", Path: Prefix + PathDiscovery, Summary: "OpenID Connect discovery: the endpoints, grants, scopes and claims", Status: ok, Response: map[string]any{}},
		{Method: "GET", Path: Prefix + PathJWKS, Summary: "The public keys ID tokens and JWT access tokens are signed with (ES256)", Status: ok, Response: KeySet{}},
		{Method: "GET", Path: Prefix + PathAuthorize, Summary: "Start an authorization (code flow with PKCE): the browser goes to the hosted sign-in pages, or straight back with a live sign-in session", Query: authorizeQuery(), Status: found, Browser: true},
		{Method: "POST", Path: Prefix + PathAuthorize, Summary: "Start an authorization, the parameters as a form", Form: authorizeQuery(), Status: found, Browser: true},
		{Method: "GET", Path: Prefix + PathInteraction, Summary: "Where the authorization sends the browser: starts the sign-in (the _interaction cookie) and goes on to the hosted page", Query: []Field{{Name: "authRequest", Required: true, Description: "The authorization request's ID"}}, Status: found, Browser: true},
		{Method: "GET", Path: Prefix + PathAuthorize + "/callback", Summary: "Where a finished sign-in sends the browser: it goes on to the redirect URI with the code", Query: []Field{{Name: "id", Required: true, Description: "The authorization request's ID"}}, Status: found, Browser: true},
		{Method: "POST", Path: Prefix + PathToken, Summary: "Exchange a code, a refresh token or client credentials for tokens", Auth: AuthClient, Form: tokenForm(), Status: ok, Response: TokenResponse{}},
		{Method: "GET", Path: Prefix + PathUserinfo, Summary: "The signed-in user's claims, for the scopes of the access token", Auth: AuthBearer, Status: ok, Response: map[string]any{}},
		{Method: "POST", Path: Prefix + PathUserinfo, Summary: "The signed-in user's claims (POST)", Auth: AuthBearer, Status: ok, Response: map[string]any{}},
		{Method: "POST", Path: Prefix + PathIntrospection, Summary: "Whether a token is active, and its claims (RFC 7662); confidential clients only", Auth: AuthClient, Form: tokenHintForm(), Status: ok, Response: map[string]any{}},
		{Method: "POST", Path: Prefix + PathRevocation, Summary: "Revoke an access or refresh token (RFC 7009); a refresh token's whole family goes", Auth: AuthClient, Form: tokenHintForm(), Status: ok},
		{Method: "GET", Path: Prefix + PathEndSession, Summary: "Sign out (RP-initiated logout): ends the sign-in session and goes to the post-logout redirect URI", Query: endSessionQuery(), Status: found, Browser: true},
		{Method: "POST", Path: Prefix + PathEndSession, Summary: "Sign out, the parameters as a form", Form: endSessionQuery(), Status: found, Browser: true},
		{Method: "GET", Path: Prefix + PathSignedOut, Summary: "The page a sign-out without a post-logout redirect URI ends on", Status: ok, Browser: true},
		{Method: "GET", Path: Prefix + PathHealth, Summary: "The provider is up", Status: ok, Response: map[string]any{}},
		{Method: "GET", Path: Prefix + PathReady, Summary: "The provider's storage answers", Status: ok, Response: map[string]any{}},
	}
}
