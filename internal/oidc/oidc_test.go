package oidc_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/authmail/authmail/internal/app/apptest"
	"github.com/authmail/authmail/internal/apps"
	"github.com/authmail/authmail/internal/config"
)

// TestDiscoveryIsAtLogtosPathsUnderTheIssuer: the discovery document is
// at /oidc/.well-known/openid-configuration, its issuer is exactly the
// public URL + /oidc (go-oidc checks it), and every endpoint is at
// Logto's path under it.
func TestDiscoveryIsAtLogtosPathsUnderTheIssuer(t *testing.T) {
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		r := newRP(t, a, apps.TypeTraditional)
		var d map[string]any
		if err := r.provider.Claims(&d); err != nil {
			t.Fatal(err)
		}
		issuer := a.BaseURL + "/oidc"
		for key, path := range map[string]string{"issuer": "", "authorization_endpoint": "/auth", "token_endpoint": "/token",
			"jwks_uri": "/jwks", "userinfo_endpoint": "/me", "end_session_endpoint": "/session/end",
			"revocation_endpoint": "/token/revocation", "introspection_endpoint": "/token/introspection"} {
			if d[key] != issuer+path {
				t.Errorf("%s = %v, want %s", key, d[key], issuer+path)
			}
		}
		for key, want := range map[string][]string{
			"code_challenge_methods_supported":      {"S256"},
			"id_token_signing_alg_values_supported": {"ES256"},
			"grant_types_supported":                 {"authorization_code", "refresh_token", "client_credentials"},
			"token_endpoint_auth_methods_supported": {"client_secret_basic", "client_secret_post", "none"},
			"scopes_supported":                      {"openid", "profile", "email", "offline_access"},
		} {
			if got := strs(d[key]); !slices.Equal(got, want) {
				t.Errorf("%s = %v, want %v", key, got, want)
			}
		}
	})
}

// TestTheIssuerIsTheConfiguredPublicURL: with --public-url, the issuer
// and every endpoint are under that URL + /oidc exactly, whatever address
// the request came to.
func TestTheIssuerIsTheConfiguredPublicURL(t *testing.T) {
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		resp, err := a.Client.Get(a.BaseURL + "/oidc/.well-known/openid-configuration")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var d map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&d); err != nil {
			t.Fatal(err)
		}
		for key, want := range map[string]string{"issuer": "https://auth.example.test/base/oidc",
			"authorization_endpoint": "https://auth.example.test/base/oidc/auth", "jwks_uri": "https://auth.example.test/base/oidc/jwks"} {
			if d[key] != want {
				t.Errorf("%s = %v, want %s", key, d[key], want)
			}
		}
	}, apptest.WithSettings(func(s *config.Settings) {
		var err error
		if s.PublicURL, err = config.ParsePublicURL("https://auth.example.test/base/"); err != nil {
			panic(err)
		}
	}))
}

// TestAnAppSignsAUserInWithACodeAndPKCE: a confidential and a public app
// each sign a user in (authorization code, PKCE S256, nonce), exchange
// the code, verify the ID token against the JWKS (sub, email,
// email_verified, name, auth_time, amr, nonce, aud) and read userinfo;
// the confidential app authenticates with client_secret_basic, and
// client_secret_post works too.
func TestAnAppSignsAUserInWithACodeAndPKCE(t *testing.T) {
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		user := newUser(t, a, "alice@example.com")
		for _, typ := range []apps.Type{apps.TypeTraditional, apps.TypeSPA, apps.TypeNative} {
			r := newRP(t, a, typ)
			before := time.Now().Add(-time.Second).Truncate(time.Second)
			tok, _ := r.login(user)
			id, err := r.verify(tok, nil)
			if err != nil {
				t.Fatalf("%s: verifying the ID token: %v", typ, err)
			}
			var claims struct {
				Email         string   `json:"email"`
				EmailVerified bool     `json:"email_verified"`
				Name          string   `json:"name"`
				Username      string   `json:"username"`
				AuthTime      int64    `json:"auth_time"`
				AMR           []string `json:"amr"`
				AZP           string   `json:"azp"`
			}
			if err := id.Claims(&claims); err != nil {
				t.Fatal(err)
			}
			if id.Subject != user.ID || id.Nonce != "the-nonce" || !slices.Equal(id.Audience, []string{r.conf.ClientID}) ||
				id.Issuer != a.BaseURL+"/oidc" {
				t.Errorf("%s: ID token sub %q nonce %q aud %v iss %q", typ, id.Subject, id.Nonce, id.Audience, id.Issuer)
			}
			if claims.Email != "alice@example.com" || !claims.EmailVerified || claims.Name != "Alice Liddell" || claims.Username != "alice" ||
				!slices.Equal(claims.AMR, []string{"otp"}) || claims.AZP != r.conf.ClientID || claims.AuthTime < before.Unix() {
				t.Errorf("%s: ID token claims %+v", typ, claims)
			}
			if tok.RefreshToken == "" {
				t.Errorf("%s: no refresh token although offline_access was asked for", typ)
			}
			info, err := r.userinfo(tok.AccessToken)
			if err != nil {
				t.Fatalf("%s: userinfo: %v", typ, err)
			}
			if info.Subject != user.ID || info.Email != "alice@example.com" || !info.EmailVerified {
				t.Errorf("%s: userinfo = %+v", typ, info)
			}
		}
		r := newRP(t, a, apps.TypeTraditional)
		r.conf.Endpoint.AuthStyle = oauth2.AuthStyleInParams
		if _, err := r.verify(must(r.login(user)), nil); err != nil {
			t.Errorf("client_secret_post: %v", err)
		}
	})
}

func must[T any](v T, _ ...any) T { return v }

// TestRefreshTokensComeOnlyWithOfflineAccess: without offline_access
// there is no refresh token, as in Logto; without openid no ID token.
func TestRefreshTokensComeOnlyWithOfflineAccess(t *testing.T) {
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		user := newUser(t, a, "alice@example.com")
		r := newRP(t, a, apps.TypeSPA)
		r.conf.Scopes = []string{gooidc.ScopeOpenID, "email"}
		tok, _ := r.login(user)
		if tok.RefreshToken != "" {
			t.Error("a refresh token without offline_access")
		}
		if _, err := r.verify(tok, nil); err != nil {
			t.Error(err)
		}
		r.conf.Scopes = []string{"email"}
		tok, _ = r.login(user)
		if tok.Extra("id_token") != nil {
			t.Error("an ID token without openid")
		}
		if _, err := r.userinfo(tok.AccessToken); err == nil {
			t.Error("userinfo answered for a token without openid")
		}
	})
}

// TestARefreshTokenRotatesAndItsReuseRevokesTheFamily: each refresh gives
// a new refresh token (and ID and access tokens); using a rotated one
// again fails and revokes every token of the sign-in, the latest refresh
// token and access token included.
func TestARefreshTokenRotatesAndItsReuseRevokesTheFamily(t *testing.T) {
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		user := newUser(t, a, "alice@example.com")
		r := newRP(t, a, apps.TypeSPA)
		first, _ := r.login(user)
		second, err := r.refresh(first.RefreshToken)
		if err != nil {
			t.Fatalf("refreshing: %v", err)
		}
		if second.RefreshToken == "" || second.RefreshToken == first.RefreshToken || second.AccessToken == first.AccessToken {
			t.Fatalf("the refresh did not rotate: %+v", second)
		}
		if id, err := r.verify(second, nil); err != nil || id.Subject != user.ID {
			t.Fatalf("the refreshed ID token: %v, %v", id, err)
		}
		if _, err := r.userinfo(second.AccessToken); err != nil {
			t.Fatalf("userinfo with the refreshed access token: %v", err)
		}
		third, err := r.refresh(second.RefreshToken)
		if err != nil {
			t.Fatalf("refreshing again: %v", err)
		}
		if _, err := r.refresh(first.RefreshToken); oauthError(err) != "invalid_grant" {
			t.Fatalf("reusing a rotated refresh token: %v, want invalid_grant", err)
		}
		if _, err := r.refresh(third.RefreshToken); oauthError(err) != "invalid_grant" {
			t.Errorf("the latest refresh token after the reuse: %v, want invalid_grant (revoked with its family)", err)
		}
		if _, err := r.userinfo(third.AccessToken); err == nil {
			t.Error("the latest access token still opens userinfo after the reuse")
		}
		// Another sign-in of the same user is another family.
		other, _ := r.login(user)
		if _, err := r.refresh(other.RefreshToken); err != nil {
			t.Errorf("another sign-in's refresh token: %v", err)
		}
	})
}

// TestRefreshMayNarrowTheScopesButNotWidenThem: a refresh may ask for
// fewer scopes, never for one the sign-in did not get.
func TestRefreshMayNarrowTheScopesButNotWidenThem(t *testing.T) {
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		user := newUser(t, a, "alice@example.com")
		r := newRP(t, a, apps.TypeSPA)
		r.conf.Scopes = []string{gooidc.ScopeOpenID, gooidc.ScopeOfflineAccess}
		tok, _ := r.login(user)
		status, body := r.post("/oidc/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken},
			"scope": {"openid email"}})
		if status != http.StatusBadRequest || body["error"] != "invalid_scope" {
			t.Errorf("widening the scopes: %d %v, want 400 invalid_scope", status, body)
		}
		status, body = r.post("/oidc/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken},
			"scope": {"openid"}})
		if status != http.StatusOK || body["scope"] != "openid" {
			t.Fatalf("narrowing the scopes: %d %v", status, body)
		}
		next, _ := body["refresh_token"].(string)
		status, body = r.post("/oidc/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {next}})
		if status != http.StatusOK || body["scope"] != "openid offline_access" {
			t.Errorf("the next refresh, asking for no scope: %d %v; want the sign-in's scopes back", status, body)
		}
	})
}

// TestRevokedTokensStopWorking: revoking an access token closes userinfo
// to it; revoking a refresh token revokes its sign-in's tokens; a token of
// another client is refused; an unknown token is ignored (RFC 7009).
func TestRevokedTokensStopWorking(t *testing.T) {
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		user := newUser(t, a, "alice@example.com")
		for _, typ := range []apps.Type{apps.TypeTraditional, apps.TypeSPA} {
			r := newRP(t, a, typ)
			tok, _ := r.login(user)
			if status, body := r.post("/oidc/token/revocation", url.Values{"token": {tok.AccessToken}, "token_type_hint": {"access_token"}}); status != http.StatusOK {
				t.Fatalf("%s: revoking the access token: %d %v", typ, status, body)
			}
			if _, err := r.userinfo(tok.AccessToken); err == nil {
				t.Errorf("%s: userinfo answered a revoked access token", typ)
			}
			tok, _ = r.login(user)
			if status, body := r.post("/oidc/token/revocation", url.Values{"token": {tok.RefreshToken}}); status != http.StatusOK {
				t.Fatalf("%s: revoking the refresh token: %d %v", typ, status, body)
			}
			if _, err := r.refresh(tok.RefreshToken); oauthError(err) != "invalid_grant" {
				t.Errorf("%s: refreshing with a revoked token: %v, want invalid_grant", typ, err)
			}
			if _, err := r.userinfo(tok.AccessToken); err == nil {
				t.Errorf("%s: the access token of a revoked refresh token still opens userinfo", typ)
			}
			if status, body := r.post("/oidc/token/revocation", url.Values{"token": {"not-a-token"}}); status != http.StatusOK {
				t.Errorf("%s: revoking an unknown token: %d %v, want 200", typ, status, body)
			}
		}
		owner, thief := newRP(t, a, apps.TypeSPA), newRP(t, a, apps.TypeSPA)
		tok, _ := owner.login(user)
		for _, token := range []string{tok.AccessToken, tok.RefreshToken} {
			thief.post("/oidc/token/revocation", url.Values{"token": {token}})
		}
		if _, err := owner.userinfo(tok.AccessToken); err != nil {
			t.Errorf("another client revoked the access token: %v", err)
		}
		if _, err := owner.refresh(tok.RefreshToken); err != nil {
			t.Errorf("another client revoked the refresh token: %v", err)
		}
	})
}

// strs is a decoded JSON list of strings.
func strs(v any) []string {
	var out []string
	list, _ := v.([]any)
	for _, item := range list {
		s, _ := item.(string)
		out = append(out, s)
	}
	return out
}
