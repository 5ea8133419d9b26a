package oidc

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
	"golang.org/x/text/language"

	"github.com/authmail/authmail/internal/apps"
	"github.com/authmail/authmail/internal/experience"
	"github.com/authmail/authmail/internal/store"
	"github.com/authmail/authmail/internal/tenant"
)

// Sign-in without redirects (experience.Authorizer): the app's
// authorization request is stored as a browser's is, without a redirect
// URI, and its tokens are those of the code exchange, made by the same
// steps: a code is saved and used at once (op.AuthRequestByCode), the
// PKCE verifier checked by the op package (op.AuthorizeCodeChallenge),
// and the tokens issued by userTokens, signed with the tenant's key.

var _ experience.Authorizer = (*Provider)(nil)

// maxNonce bounds a nonce, as a browser's URL bounds it.
const maxNonce = 512

// AuthorizeDirect authenticates the app and stores its authorization
// request: a Traditional app by its client secret, a Native app by its
// PKCE challenge (S256, required); an SPA or a machine-to-machine app is
// refused (oidc.unauthorized_client). An unknown client ID and a wrong
// secret are one 401 oidc.invalid_client. The scopes must hold openid;
// at most one resource, one of the tenant's.
func (p *Provider) AuthorizeDirect(ctx context.Context, t string, req experience.DirectStart) (experience.AuthRequest, error) {
	ctx = tenant.NewContext(ctx, t)
	app, err := p.directApp(ctx, t, req)
	if err != nil {
		return experience.AuthRequest{}, err
	}
	switch {
	case req.CodeChallenge == "" && app.Public():
		return experience.AuthRequest{}, directRefusal(http.StatusBadRequest, "invalid_request", "codeChallenge is required: a Native app proves itself with PKCE (S256)")
	case req.CodeChallenge != "" && req.CodeChallengeMethod != string(oidc.CodeChallengeMethodS256):
		return experience.AuthRequest{}, directRefusal(http.StatusBadRequest, "invalid_request", "codeChallengeMethod must be S256")
	case req.CodeChallenge != "" && !s256Challenge(req.CodeChallenge):
		return experience.AuthRequest{}, directRefusal(http.StatusBadRequest, "invalid_request", "codeChallenge must be the base64url SHA-256 of the verifier (43 characters)")
	case len(req.Nonce) > maxNonce:
		return experience.AuthRequest{}, directRefusal(http.StatusBadRequest, "invalid_request", "the nonce is too long")
	case len(req.Resources) > 1:
		return experience.AuthRequest{}, directRefusal(http.StatusBadRequest, "invalid_target", "ask for one resource: the access token is for it")
	}
	asked, err := op.ValidateAuthReqScopes(p.storage.client(app), slices.Clone(req.Scopes))
	if err != nil {
		return experience.AuthRequest{}, directError(err)
	}
	granted := slices.DeleteFunc(slices.Compact(slices.Sorted(slices.Values(asked))), func(s string) bool { return !slices.Contains(scopes, s) })
	if !slices.Contains(granted, oidc.ScopeOpenID) {
		return experience.AuthRequest{}, directRefusal(http.StatusBadRequest, "invalid_scope", "the scopes must include openid")
	}
	for _, indicator := range req.Resources {
		if _, err := p.server.resource(ctx, indicator); err != nil {
			return experience.AuthRequest{}, directError(err)
		}
	}
	ar := &oidc.AuthRequest{ClientID: app.ID, Scopes: granted, ResponseType: oidc.ResponseTypeCode, Nonce: req.Nonce,
		CodeChallenge: req.CodeChallenge, CodeChallengeMethod: oidc.CodeChallengeMethod(req.CodeChallengeMethod), LoginHint: req.LoginHint}
	for _, l := range req.UILocales {
		if tag, err := language.Parse(l); err == nil {
			ar.UILocales = append(ar.UILocales, tag)
		}
	}
	stored, err := p.storage.CreateAuthRequest(withExtras(ctx, authorizeExtras{resources: req.Resources, direct: true}), ar, "")
	if err != nil {
		return experience.AuthRequest{}, err
	}
	a := stored.(*authRequest)
	return experience.AuthRequest{ID: a.GetID(), ClientID: a.GetClientID(), UILocales: a.UILocales, LoginHint: a.LoginHint, Direct: true}, nil
}

// AuthenticateApp checks the app's credentials as AuthorizeDirect does.
func (p *Provider) AuthenticateApp(ctx context.Context, t string, req experience.DirectStart) error {
	_, err := p.directApp(tenant.NewContext(ctx, t), t, req)
	return err
}

// directApp is the app starting a sign-in without redirects, authenticated.
func (p *Provider) directApp(ctx context.Context, t string, req experience.DirectStart) (apps.Application, error) {
	invalid := directRefusal(http.StatusUnauthorized, "invalid_client", "the clientId and clientSecret do not match an application")
	app, err := p.Apps.Get(ctx, t, req.ClientID)
	if errors.Is(err, apps.ErrNotFound) {
		return apps.Application{}, invalid
	}
	if err != nil {
		return apps.Application{}, err
	}
	switch app.Type {
	case apps.TypeTraditional:
		app, err = p.Apps.Authenticate(ctx, t, req.ClientID, req.ClientSecret)
		if errors.Is(err, apps.ErrInvalidClient) {
			return apps.Application{}, invalid
		}
		return app, err
	case apps.TypeNative:
		if req.ClientSecret != "" {
			return apps.Application{}, directRefusal(http.StatusUnauthorized, "invalid_client", "a Native app has no client secret: send a codeChallenge instead")
		}
		return app, nil
	default:
		return apps.Application{}, directRefusal(http.StatusBadRequest, "unauthorized_client",
			"only Traditional and Native applications may sign users in without redirects; an SPA signs in through /oidc/auth")
	}
}

// s256Challenge reports whether c has the shape of an S256 challenge:
// 32 bytes, base64url without padding.
func s256Challenge(c string) bool {
	b, err := base64.RawURLEncoding.DecodeString(c)
	return err == nil && len(b) == 32
}

// CheckVerifier checks a PKCE verifier against the challenge of a live
// request of a sign-in without redirects, as the code exchange does.
func (p *Provider) CheckVerifier(ctx context.Context, t, authRequestID, codeVerifier string) error {
	ar, err := p.directRequest(tenant.NewContext(ctx, t), t, authRequestID)
	if err != nil {
		return err
	}
	return directError(op.AuthorizeCodeChallenge(codeVerifier, ar.GetCodeChallenge()))
}

// directRequest reads a live, unsigned request of a sign-in without
// redirects; one that is gone is the interaction's end.
func (p *Provider) directRequest(ctx context.Context, t, id string) (*authRequest, error) {
	ar, err := p.storage.liveAuthRequest(ctx, t, id)
	if errors.Is(err, ErrAuthRequestNotFound) || (err == nil && (!ar.Direct || ar.Done())) {
		return nil, experience.ErrSessionNotFound
	}
	return ar, err
}

// Tokens signs the user in for the request and exchanges its code at
// once: the code is saved and used (so the request can never be
// exchanged again), the verifier checked against the challenge, and the
// tokens issued as the code exchange issues them (no c_hash: the app
// never saw the code).
func (p *Provider) Tokens(ctx context.Context, t, authRequestID string, login experience.Login, codeVerifier string) (experience.Tokens, error) {
	ctx = tenant.NewContext(ctx, t)
	if _, err := p.directRequest(ctx, t, authRequestID); err != nil {
		return experience.Tokens{}, err
	}
	if err := p.signIn(ctx, t, authRequestID, login); err != nil {
		return experience.Tokens{}, err
	}
	code := randomID(32)
	if err := p.storage.SaveAuthCode(ctx, authRequestID, code); err != nil {
		return experience.Tokens{}, directError(err)
	}
	req, err := op.AuthRequestByCode(ctx, p.storage, code)
	if err != nil {
		return experience.Tokens{}, directError(err)
	}
	ar, ok := req.(*authRequest)
	if !ok {
		return experience.Tokens{}, errors.New("a sign-in without redirects: the stored request is of another kind")
	}
	if err := op.AuthorizeCodeChallenge(codeVerifier, ar.GetCodeChallenge()); err != nil {
		return experience.Tokens{}, directError(err)
	}
	if err := p.server.activeUser(ctx, ar.GetSubject()); err != nil {
		return experience.Tokens{}, directError(err)
	}
	var resource *apps.Resource
	if len(ar.Resources) > 0 {
		res, err := p.server.resource(ctx, ar.Resources[0])
		if err != nil {
			return experience.Tokens{}, directError(err)
		}
		resource = &res
	}
	resp, err := p.server.userTokens(ctx, ar.grant(), resource, nil, "")
	if err != nil {
		return experience.Tokens{}, directError(err)
	}
	return experience.Tokens{AccessToken: resp.AccessToken, TokenType: resp.TokenType, ExpiresIn: resp.ExpiresIn,
		RefreshToken: resp.RefreshToken, IDToken: resp.IDToken, Scope: strings.Join(resp.Scope, " ")}, nil
}

// signIn records who signed in for an authorization request.
func (p *Provider) signIn(ctx context.Context, t, authRequestID string, login experience.Login) error {
	err := p.Store.WriteQ().OIDCAuthRequestSignIn(ctx, t, authRequestID, login.UserID, login.AuthTime,
		strings.Join(login.AMR, " "), p.Now())
	if errors.Is(err, store.ErrNotFound) {
		return ErrAuthRequestNotFound
	}
	return err
}

// directRefusal is a refusal of a sign-in without redirects: the OAuth
// error as a Logto code (oidc.<error>).
func directRefusal(status int, oauthError, description string) *experience.Error {
	return &experience.Error{Status: status, Code: "oidc." + oauthError, Message: description}
}

// directError turns the op package's OAuth errors into refusals; a
// server error stays an error of authmail's.
func directError(err error) error {
	var oe *oidc.Error
	if err == nil || !errors.As(err, &oe) {
		return err
	}
	if oe.ErrorType == oidc.ServerError {
		if oe.Parent != nil {
			return oe.Parent
		}
		return errors.New("issuing tokens: " + oe.Description)
	}
	status := http.StatusBadRequest
	if oe.ErrorType == oidc.InvalidClient {
		status = http.StatusUnauthorized
	}
	msg := oe.Description
	if msg == "" {
		msg = "the request was refused (" + string(oe.ErrorType) + ")"
	}
	return directRefusal(status, string(oe.ErrorType), msg)
}
