package oidc

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/authmail/authmail/internal/apps"
	"github.com/authmail/authmail/internal/experience"
	"github.com/authmail/authmail/internal/identity"
)

// server is the op package's server for the provider: its LegacyServer
// (discovery, keys, the client checks, userinfo, introspection,
// revocation), with the authorization, the token grants and the end of a
// session made here, where the resource parameter (RFC 8707), the PKCE
// rules, refresh token rotation and the sign-in session are handled.
type server struct {
	*op.LegacyServer
	p *Provider
}

// Discovery is the library's document, saying what this provider offers:
// S256 only, the three client authentication methods, its grants and
// scopes and the claims it gives.
func (s *server) Discovery(ctx context.Context, r *op.Request[struct{}]) (*op.Response, error) {
	resp, err := s.LegacyServer.Discovery(ctx, r)
	if err != nil {
		return nil, err
	}
	if d, ok := resp.Data.(*oidc.DiscoveryConfiguration); ok {
		d.CodeChallengeMethodsSupported = []oidc.CodeChallengeMethod{oidc.CodeChallengeMethodS256}
		d.GrantTypesSupported = []oidc.GrantType{oidc.GrantTypeCode, oidc.GrantTypeRefreshToken, oidc.GrantTypeClientCredentials}
		d.TokenEndpointAuthMethodsSupported = []oidc.AuthMethod{oidc.AuthMethodBasic, oidc.AuthMethodPost, oidc.AuthMethodNone}
		d.RevocationEndpointAuthMethodsSupported = d.TokenEndpointAuthMethodsSupported
		d.IntrospectionEndpointAuthMethodsSupported = []oidc.AuthMethod{oidc.AuthMethodBasic, oidc.AuthMethodPost}
		d.TokenEndpointAuthSigningAlgValuesSupported = nil
		d.RevocationEndpointAuthSigningAlgValuesSupported = nil
		d.IntrospectionEndpointAuthSigningAlgValuesSupported = nil
		d.RequestObjectSigningAlgValuesSupported = nil
		d.ResponseModesSupported = []string{string(oidc.ResponseModeQuery), string(oidc.ResponseModeFormPost)}
		d.ScopesSupported = scopes
		d.ClaimsSupported = []string{"sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "amr", "azp", "at_hash", "c_hash",
			"name", "picture", "preferred_username", "username", "given_name", "family_name", "middle_name", "nickname",
			"profile", "website", "gender", "birthdate", "zoneinfo", "updated_at", "email", "email_verified"}
	}
	return resp, nil
}

// Authorize checks what the op package leaves to the provider, then
// stores the request and sends the browser to sign in: the redirect URI
// is one of the application's as written (native loopback URIs too); a
// public client must send a PKCE challenge, and every challenge must be
// S256; each resource must be one the tenant has.
func (s *server) Authorize(ctx context.Context, r *op.ClientRequest[oidc.AuthRequest]) (*op.Redirect, error) {
	c, ok := r.Client.(*client)
	if !ok {
		return nil, oidc.ErrServerError()
	}
	if !c.app.RedirectURIAllowed(r.Data.RedirectURI) {
		return nil, oidc.ErrInvalidRequestRedirectURI().WithDescription("the redirect_uri is not one of the application's redirect URIs")
	}
	switch {
	case r.Data.CodeChallenge == "" && c.app.Public():
		return nil, oidc.ErrInvalidRequest().WithDescription("code_challenge is required: a public client must use PKCE (S256)")
	case r.Data.CodeChallenge != "" && r.Data.CodeChallengeMethod != oidc.CodeChallengeMethodS256:
		return nil, oidc.ErrInvalidRequest().WithDescription("code_challenge_method must be S256")
	}
	extras := authorizeExtras{firstScreen: r.Form.Get("first_screen")}
	for _, indicator := range r.Form["resource"] {
		if _, err := s.resource(ctx, indicator); err != nil {
			return nil, err
		}
		if !slices.Contains(extras.resources, indicator) {
			extras.resources = append(extras.resources, indicator)
		}
	}
	return s.LegacyServer.Authorize(withExtras(ctx, extras), r)
}

// resource reads the resource an indicator names: invalid_target when
// the tenant has none.
func (s *server) resource(ctx context.Context, indicator string) (apps.Resource, error) {
	res, err := s.p.Apps.Resource(ctx, tenantOf(ctx), indicator)
	if errors.Is(err, apps.ErrNotFound) {
		return apps.Resource{}, oidc.ErrInvalidTarget().WithDescription("resource %q is not an API resource of this tenant", indicator)
	}
	if err != nil {
		return apps.Resource{}, serverError(err)
	}
	return res, nil
}

// tokenResource reads the one resource a token request asks for, which
// the grant must hold; nil when it asks for none.
func (s *server) tokenResource(ctx context.Context, form url.Values, granted []string) (*apps.Resource, error) {
	switch asked := form["resource"]; {
	case len(asked) == 0:
		return nil, nil
	case len(asked) > 1:
		return nil, oidc.ErrInvalidTarget().WithDescription("ask for one resource per token")
	case !slices.Contains(granted, asked[0]):
		return nil, oidc.ErrInvalidTarget().WithDescription("resource %q was not asked for in the authorization request", asked[0])
	default:
		res, err := s.resource(ctx, asked[0])
		if err != nil {
			return nil, err
		}
		return &res, nil
	}
}

// activeUser checks the grant's user may still get tokens.
func (s *server) activeUser(ctx context.Context, id string) error {
	u, err := s.p.Users.Get(ctx, tenantOf(ctx), id)
	if errors.Is(err, identity.ErrUserNotFound) || (err == nil && u.IsSuspended) {
		return oidc.ErrInvalidGrant().WithDescription("the user is suspended or no longer exists")
	}
	if err != nil {
		return serverError(err)
	}
	return nil
}

// CodeExchange exchanges an authorization code, once: the code must be
// live and unused, the client and redirect URI the request's, and the
// PKCE verifier must match the challenge (a verifier without a
// challenge, or none with one, is refused).
func (s *server) CodeExchange(ctx context.Context, r *op.ClientRequest[oidc.AccessTokenRequest]) (*op.Response, error) {
	req, err := op.AuthRequestByCode(ctx, s.p.storage, r.Data.Code)
	if err != nil {
		return nil, err
	}
	ar, ok := req.(*authRequest)
	if !ok {
		return nil, oidc.ErrServerError()
	}
	if err := op.AuthorizeCodeChallenge(r.Data.CodeVerifier, ar.GetCodeChallenge()); err != nil {
		return nil, err
	}
	if r.Client.GetID() != ar.GetClientID() {
		return nil, oidc.ErrInvalidGrant().WithDescription("the code was issued to another client")
	}
	if r.Data.RedirectURI != ar.GetRedirectURI() {
		return nil, oidc.ErrInvalidGrant().WithDescription("redirect_uri does not correspond")
	}
	if err := s.activeUser(ctx, ar.GetSubject()); err != nil {
		return nil, err
	}
	resource, err := s.tokenResource(ctx, r.Form, ar.Resources)
	if err != nil {
		return nil, err
	}
	resp, err := s.userTokens(ctx, ar.grant(), resource, nil, r.Data.Code)
	if err != nil {
		return nil, err
	}
	return op.NewResponse(resp), nil
}

// RefreshToken rotates a refresh token: the new tokens replace it, and a
// second use of it revokes its whole family. The scopes may be narrowed;
// a resource must be one the authorization asked for.
func (s *server) RefreshToken(ctx context.Context, r *op.ClientRequest[oidc.RefreshTokenRequest]) (*op.Response, error) {
	req, err := op.RefreshTokenRequestByRefreshToken(ctx, s.p.storage, r.Data.RefreshToken)
	if err != nil {
		return nil, err
	}
	rr, ok := req.(*refreshRequest)
	if !ok {
		return nil, oidc.ErrServerError()
	}
	if r.Client.GetID() != rr.GetClientID() {
		return nil, oidc.ErrInvalidGrant().WithDescription("the refresh token was issued to another client")
	}
	if err := op.ValidateRefreshTokenScopes(r.Data.Scopes, rr); err != nil {
		return nil, err
	}
	if err := s.activeUser(ctx, rr.GetSubject()); err != nil {
		return nil, err
	}
	g := rr.grant()
	resource, err := s.tokenResource(ctx, r.Form, g.resources)
	if err != nil {
		return nil, err
	}
	resp, err := s.userTokens(ctx, g, resource, &rr.row, "")
	if err != nil {
		return nil, err
	}
	return op.NewResponse(resp), nil
}

// ClientCredentialsExchange gives a machine-to-machine application an
// access token for a resource, which it must name, with the scopes its
// roles grant there (all of them when it asks for none).
func (s *server) ClientCredentialsExchange(ctx context.Context, r *op.ClientRequest[oidc.ClientCredentialsRequest]) (*op.Response, error) {
	asked := r.Form["resource"]
	switch len(asked) {
	case 0:
		return nil, oidc.ErrInvalidTarget().WithDescription("a resource is required")
	case 1:
	default:
		return nil, oidc.ErrInvalidTarget().WithDescription("ask for one resource per token")
	}
	res, err := s.resource(ctx, asked[0])
	if err != nil {
		return nil, err
	}
	granted, err := s.p.Apps.M2MScopes(ctx, tenantOf(ctx), r.Client.GetID(), res.Indicator)
	if err != nil {
		return nil, serverError(err)
	}
	scopes := granted
	if len(r.Data.Scope) > 0 {
		for _, sc := range r.Data.Scope {
			if !slices.Contains(granted, sc) {
				return nil, oidc.ErrInvalidScope().WithDescription("scope %q is not granted to this application for %s", sc, res.Indicator)
			}
		}
		scopes = slices.Compact(slices.Sorted(slices.Values(r.Data.Scope)))
	}
	resp, err := s.machineToken(ctx, &machineRequest{clientID: r.Client.GetID(), resource: res.Indicator, scopes: scopes,
		ttl: time.Duration(res.AccessTokenTTL) * time.Second})
	if err != nil {
		return nil, err
	}
	return op.NewResponse(resp), nil
}

// JWTProfile refuses the JWT bearer grant, which no client can use.
func (s *server) JWTProfile(context.Context, *op.Request[oidc.JWTProfileGrantRequest]) (*op.Response, error) {
	return nil, oidc.ErrUnsupportedGrantType().WithDescription("the jwt-bearer grant is not supported")
}

// EndSession ends the sign-in session the browser's session cookie names,
// then sends the browser to the post_logout_redirect_uri when the
// application (from client_id or id_token_hint) registered it exactly,
// with the state, else to the signed-out page.
func (s *server) EndSession(ctx context.Context, r *op.Request[oidc.EndSessionRequest]) (*op.Redirect, error) {
	session, err := op.ValidateEndSessionRequest(ctx, r.Data, s.Provider())
	if err != nil {
		return nil, err
	}
	if uri := r.Data.PostLogoutRedirectURI; uri != "" && session.ClientID != "" {
		c, err := s.p.storage.GetClientByClientID(ctx, session.ClientID)
		if err != nil {
			return nil, err
		}
		if app := c.(*client).app; !app.PostLogoutRedirectURIAllowed(uri) {
			return nil, oidc.ErrInvalidRequest().WithDescription("post_logout_redirect_uri is not one of the application's")
		}
	}
	redirect := op.NewRedirect(session.RedirectURI)
	if e := s.p.experience; e != nil {
		if cookie := experience.SessionOf(&http.Request{Header: r.Header}); cookie != "" {
			if err := e.EndSession(ctx, tenantOf(ctx), cookie); err != nil {
				return nil, serverError(err)
			}
			e.ClearSessionCookie(headerWriter(redirect.Header))
		}
	}
	return redirect, nil
}

// headerWriter collects the headers written to it (a cookie), for a
// redirect the op package writes.
type headerWriter http.Header

// Header is the headers.
func (h headerWriter) Header() http.Header { return http.Header(h) }

// Write discards a body.
func (h headerWriter) Write(b []byte) (int, error) { return len(b), nil }

// WriteHeader does nothing.
func (h headerWriter) WriteHeader(int) {}
