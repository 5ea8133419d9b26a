package oidc

import (
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/authmail/authmail/internal/apps"
)

// client is an application as the op package sees it.
type client struct {
	app      apps.Application
	loginURL func(authRequestID string) string
}

var _ op.Client = (*client)(nil)

// GetID is the client ID.
func (c *client) GetID() string { return c.app.ID }

// RedirectURIs are the application's, checked exactly.
func (c *client) RedirectURIs() []string { return c.app.RedirectURIs }

// PostLogoutRedirectURIs are the application's, checked exactly.
func (c *client) PostLogoutRedirectURIs() []string { return c.app.PostLogoutRedirectURIs }

// ApplicationType maps Logto's types: a Traditional or MachineToMachine
// application is a confidential web client, an SPA a user agent, a
// Native app native.
func (c *client) ApplicationType() op.ApplicationType {
	switch c.app.Type {
	case apps.TypeSPA:
		return op.ApplicationTypeUserAgent
	case apps.TypeNative:
		return op.ApplicationTypeNative
	}
	return op.ApplicationTypeWeb
}

// AuthMethod is none for a public client (it proves itself with PKCE),
// else client_secret_basic; the secret may also come in the form
// (client_secret_post), as Logto accepts.
func (c *client) AuthMethod() oidc.AuthMethod {
	if c.app.Public() {
		return oidc.AuthMethodNone
	}
	return oidc.AuthMethodBasic
}

// ResponseTypes: the authorization code flow only, and nothing for a
// machine-to-machine application.
func (c *client) ResponseTypes() []oidc.ResponseType {
	if c.app.Type == apps.TypeMachineToMachine {
		return nil
	}
	return []oidc.ResponseType{oidc.ResponseTypeCode}
}

// GrantTypes: client credentials for a machine-to-machine application,
// the code and refresh tokens for the others.
func (c *client) GrantTypes() []oidc.GrantType {
	if c.app.Type == apps.TypeMachineToMachine {
		return []oidc.GrantType{oidc.GrantTypeClientCredentials}
	}
	return []oidc.GrantType{oidc.GrantTypeCode, oidc.GrantTypeRefreshToken}
}

// LoginURL is where the authorization endpoint sends the browser to sign
// in.
func (c *client) LoginURL(authRequestID string) string { return c.loginURL(authRequestID) }

// AccessTokenType is the type of the access tokens the op package would
// make itself; this package makes every token (tokens.go), a JWT for a
// resource and an opaque one otherwise.
func (c *client) AccessTokenType() op.AccessTokenType {
	if c.app.Type == apps.TypeMachineToMachine {
		return op.AccessTokenTypeJWT
	}
	return op.AccessTokenTypeBearer
}

// IDTokenLifetime is IDTokenTTL.
func (c *client) IDTokenLifetime() time.Duration { return IDTokenTTL }

// DevMode lets an SPA use an http redirect URI, as Logto does; redirect
// URIs are still checked exactly (server.Authorize), and the applications
// service decides which may be registered.
func (c *client) DevMode() bool { return true }

// RestrictAdditionalIdTokenScopes keeps every scope.
func (c *client) RestrictAdditionalIdTokenScopes() func(scopes []string) []string {
	return func(scopes []string) []string { return scopes }
}

// RestrictAdditionalAccessTokenScopes keeps every scope.
func (c *client) RestrictAdditionalAccessTokenScopes() func(scopes []string) []string {
	return func(scopes []string) []string { return scopes }
}

// IsScopeAllowed allows no scope beyond the standard ones the op package
// keeps (the provider then keeps those it knows).
func (c *client) IsScopeAllowed(string) bool { return false }

// IDTokenUserinfoClaimsAssertion puts the profile and email claims in the
// ID token, as Logto does.
func (c *client) IDTokenUserinfoClaimsAssertion() bool { return true }

// ClockSkew is none.
func (c *client) ClockSkew() time.Duration { return 0 }
