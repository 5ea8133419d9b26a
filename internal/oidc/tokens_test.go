package oidc_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/authmail/authmail/internal/app/apptest"
	"github.com/authmail/authmail/internal/apps"
	"github.com/authmail/authmail/internal/tenant"
)

// accessClaims are an access token JWT's claims, verified against the
// JWKS, and its header's key ID.
type accessClaims struct {
	Issuer   string   `json:"iss"`
	Subject  string   `json:"sub"`
	Audience []string `json:"aud"`
	Scope    string   `json:"scope"`
	ClientID string   `json:"client_id"`
	Expiry   int64    `json:"exp"`
	IssuedAt int64    `json:"iat"`
	JTI      string   `json:"jti"`
	kid      string
}

// verifyJWT checks an access token's signature against the JWKS and
// decodes its claims.
func (r *rp) verifyJWT(token string) accessClaims {
	r.t.Helper()
	keys := gooidc.NewRemoteKeySet(r.ctx, r.a.BaseURL+"/oidc/jwks")
	payload, err := keys.VerifySignature(r.ctx, token)
	if err != nil {
		r.t.Fatalf("the access token does not verify against the JWKS: %v", err)
	}
	var c accessClaims
	if err := json.Unmarshal(payload, &c); err != nil {
		r.t.Fatal(err)
	}
	header, err := base64.RawURLEncoding.DecodeString(strings.Split(token, ".")[0])
	if err != nil {
		r.t.Fatal(err)
	}
	var h struct {
		KID string `json:"kid"`
	}
	_ = json.Unmarshal(header, &h)
	c.kid = h.KID
	return c
}

// TestAMachineToMachineAppGetsAManagementAPIToken: a MachineToMachine app
// holding the management API role gets, with client_credentials (Basic or
// in the form), resource https://default.logto.app/api and scope all, a
// JWT signed by a published key with iss, aud, scope, client_id, sub (the
// app), exp and kid, as the management API's check expects.
func TestAMachineToMachineAppGetsAManagementAPIToken(t *testing.T) {
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		r := newRP(t, a, apps.TypeMachineToMachine)
		if _, err := a.App.Apps.AssignRoles(r.ctx, tenant.Default, r.app.ID, []string{apps.ManagementRoleID}); err != nil {
			t.Fatal(err)
		}
		for _, style := range []oauth2.AuthStyle{oauth2.AuthStyleInHeader, oauth2.AuthStyleInParams} {
			cc := clientcredentials.Config{ClientID: r.conf.ClientID, ClientSecret: r.conf.ClientSecret, TokenURL: r.conf.Endpoint.TokenURL,
				Scopes: []string{apps.ManagementScope}, EndpointParams: url.Values{"resource": {apps.ManagementResource}}, AuthStyle: style}
			tok, err := cc.Token(r.ctx)
			if err != nil {
				t.Fatalf("client_credentials (auth style %d): %v", style, err)
			}
			c := r.verifyJWT(tok.AccessToken)
			now := time.Now().Unix()
			if c.Issuer != a.BaseURL+"/oidc" || c.Subject != r.app.ID || !slices.Equal(c.Audience, []string{apps.ManagementResource}) ||
				c.Scope != apps.ManagementScope || c.ClientID != r.app.ID || c.kid == "" || c.JTI == "" ||
				c.Expiry < now+apps.DefaultAccessTokenTTL-60 || c.Expiry > now+apps.DefaultAccessTokenTTL+60 {
				t.Errorf("the management API token's claims: %+v", c)
			}
			if tok.Extra("scope") != apps.ManagementScope || tok.Extra("id_token") != nil || tok.RefreshToken != "" {
				t.Errorf("the token response: scope %v, id_token %v, refresh_token %q", tok.Extra("scope"), tok.Extra("id_token"), tok.RefreshToken)
			}
			if resp, body := a.Request("GET", "/api/users", http.Header{"Authorization": {"Bearer " + tok.AccessToken}}, nil); resp.StatusCode != http.StatusOK {
				t.Errorf("the management API with the token: %d %s, want 200", resp.StatusCode, body)
			}
		}
		// Asking for no scope gets those the roles grant.
		status, body := r.post("/oidc/token", url.Values{"grant_type": {"client_credentials"}, "resource": {apps.ManagementResource}})
		if status != http.StatusOK || body["scope"] != apps.ManagementScope {
			t.Errorf("no scope asked for: %d %v, want the granted scope", status, body)
		}
	})
}

// TestClientCredentialsRefusals: a wrong secret is 401 invalid_client; no
// resource, an unknown one or two are invalid_target; a scope the roles
// do not grant is invalid_scope; an app of another type may not use the
// grant.
func TestClientCredentialsRefusals(t *testing.T) {
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		r := newRP(t, a, apps.TypeMachineToMachine)
		grant := func(extra url.Values) url.Values {
			form := url.Values{"grant_type": {"client_credentials"}}
			for k, v := range extra {
				form[k] = v
			}
			return form
		}
		wrong := *r
		wrong.conf.ClientSecret = "not-the-secret"
		if status, body := wrong.post("/oidc/token", grant(url.Values{"resource": {apps.ManagementResource}})); status != http.StatusUnauthorized || body["error"] != "invalid_client" {
			t.Errorf("a wrong secret: %d %v, want 401 invalid_client", status, body)
		}
		unknown := wrong
		unknown.conf.ClientID = "nosuchapp"
		if status, body := unknown.post("/oidc/token", grant(url.Values{"resource": {apps.ManagementResource}})); status != http.StatusUnauthorized || body["error"] != "invalid_client" {
			t.Errorf("an unknown client: %d %v, want 401 invalid_client", status, body)
		}
		for name, form := range map[string]url.Values{
			"no resource":      grant(nil),
			"unknown resource": grant(url.Values{"resource": {"https://unknown.example.com"}}),
			"two resources":    grant(url.Values{"resource": {apps.ManagementResource, "https://unknown.example.com"}}),
		} {
			if status, body := r.post("/oidc/token", form); status != http.StatusBadRequest || body["error"] != "invalid_target" {
				t.Errorf("%s: %d %v, want 400 invalid_target", name, status, body)
			}
		}
		// Without the role, "all" is not granted.
		if status, body := r.post("/oidc/token", grant(url.Values{"resource": {apps.ManagementResource}, "scope": {"all"}})); status != http.StatusBadRequest || body["error"] != "invalid_scope" {
			t.Errorf("a scope not granted: %d %v, want 400 invalid_scope", status, body)
		}
		if _, err := a.App.Apps.AssignRoles(r.ctx, tenant.Default, r.app.ID, []string{apps.ManagementRoleID}); err != nil {
			t.Fatal(err)
		}
		if status, body := r.post("/oidc/token", grant(url.Values{"resource": {apps.ManagementResource}, "scope": {"all write:users"}})); status != http.StatusBadRequest || body["error"] != "invalid_scope" {
			t.Errorf("a scope beyond the role's: %d %v, want 400 invalid_scope", status, body)
		}
		web := newRP(t, a, apps.TypeTraditional)
		if status, body := web.post("/oidc/token", grant(url.Values{"resource": {apps.ManagementResource}})); status != http.StatusBadRequest || body["error"] != "unauthorized_client" {
			t.Errorf("a Traditional app: %d %v, want 400 unauthorized_client", status, body)
		}
	})
}

// TestAUserTokenForAResourceIsAJWTForIt: an app that asked for a resource
// at authorization gets, by naming it at the token endpoint (the code
// exchange or a refresh), a JWT whose audience is the resource, while the
// ID token stays the app's; the JWT does not open userinfo; a resource
// the authorization did not ask for is refused; a user's token for the
// management API carries no scope and does not open it.
func TestAUserTokenForAResourceIsAJWTForIt(t *testing.T) {
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		const api = "https://api.example.com"
		if _, err := a.App.Apps.CreateResource(context.Background(), tenant.Default, apps.NewResource{Name: "API", Indicator: api, AccessTokenTTL: 600}); err != nil {
			t.Fatal(err)
		}
		user := newUser(t, a, "alice@example.com")
		r := newRP(t, a, apps.TypeSPA)
		withResource := oauth2.SetAuthURLParam("resource", api)
		verifier := oauth2.GenerateVerifier()
		code := r.signIn(r.authorize(oauth2.S256ChallengeOption(verifier), withResource), user, time.Now())
		tok, err := r.conf.Exchange(r.ctx, code, oauth2.VerifierOption(verifier), withResource)
		if err != nil {
			t.Fatalf("exchanging the code for the resource: %v", err)
		}
		c := r.verifyJWT(tok.AccessToken)
		if !slices.Equal(c.Audience, []string{api}) || c.Subject != user.ID || c.ClientID != r.app.ID || c.Issuer != a.BaseURL+"/oidc" ||
			c.Expiry-c.IssuedAt != 600 {
			t.Errorf("the resource token's claims: %+v", c)
		}
		if id, err := r.verify(tok, nil); err != nil || !slices.Equal(id.Audience, []string{r.app.ID}) {
			t.Errorf("the ID token beside it: %v, %v; want it for the app only", id, err)
		}
		if _, err := r.userinfo(tok.AccessToken); err == nil {
			t.Error("userinfo answered a token for a resource")
		}
		status, body := r.post("/oidc/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}, "resource": {api}})
		access, _ := body["access_token"].(string)
		if status != http.StatusOK || !slices.Equal(r.verifyJWT(access).Audience, []string{api}) {
			t.Fatalf("refreshing for the resource: %d %v", status, body)
		}
		next, _ := body["refresh_token"].(string)
		status, body = r.post("/oidc/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {next}, "resource": {apps.ManagementResource}})
		if status != http.StatusBadRequest || body["error"] != "invalid_target" {
			t.Errorf("refreshing for a resource not asked for: %d %v, want 400 invalid_target", status, body)
		}

		verifier = oauth2.GenerateVerifier()
		management := oauth2.SetAuthURLParam("resource", apps.ManagementResource)
		code = r.signIn(r.authorize(oauth2.S256ChallengeOption(verifier), management, oauth2.SetAuthURLParam("scope", "openid all")), user, time.Now())
		tok, err = r.conf.Exchange(r.ctx, code, oauth2.VerifierOption(verifier), management)
		if err != nil {
			t.Fatal(err)
		}
		if c := r.verifyJWT(tok.AccessToken); c.Scope != "" || !slices.Equal(c.Audience, []string{apps.ManagementResource}) {
			t.Errorf("a user's management API token: %+v, want no scope", c)
		}
		if resp, body := a.Request("GET", "/api/users", http.Header{"Authorization": {"Bearer " + tok.AccessToken}}, nil); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("the management API with a user's token: %d %s, want 401", resp.StatusCode, body)
		}
	})
}

// TestIntrospectionIsForConfidentialClients: a confidential client learns
// whether its access token is active, and what it grants; a revoked one
// is inactive, another client's is inactive to it, and a public client
// may not introspect.
func TestIntrospectionIsForConfidentialClients(t *testing.T) {
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		user := newUser(t, a, "alice@example.com")
		r := newRP(t, a, apps.TypeTraditional)
		tok, _ := r.login(user)
		status, body := r.post("/oidc/token/introspection", url.Values{"token": {tok.AccessToken}})
		if status != http.StatusOK || body["active"] != true || body["sub"] != user.ID || body["client_id"] != r.app.ID ||
			body["scope"] != "openid profile email offline_access" {
			t.Errorf("introspecting an active token: %d %v", status, body)
		}
		other := newRP(t, a, apps.TypeTraditional)
		if status, body := other.post("/oidc/token/introspection", url.Values{"token": {tok.AccessToken}}); status != http.StatusOK || body["active"] != false {
			t.Errorf("another client introspecting: %d %v, want inactive", status, body)
		}
		r.post("/oidc/token/revocation", url.Values{"token": {tok.AccessToken}})
		if status, body := r.post("/oidc/token/introspection", url.Values{"token": {tok.AccessToken}}); status != http.StatusOK || body["active"] != false {
			t.Errorf("introspecting a revoked token: %d %v, want inactive", status, body)
		}
		spa := newRP(t, a, apps.TypeSPA)
		stok, _ := spa.login(user)
		if status, body := spa.post("/oidc/token/introspection", url.Values{"token": {stok.AccessToken}}); status < 400 || body["active"] == true {
			t.Errorf("a public client introspecting: %d %v, want a refusal", status, body)
		}
	})
}
