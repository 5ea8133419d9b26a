package oidc

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/authmail/authmail/internal/store"
)

// params are the authorization request's parameters, kept as the JSON of
// its row.
type params struct {
	RedirectURI         string                   `json:"redirectUri"`
	Scopes              []string                 `json:"scopes"`
	State               string                   `json:"state,omitempty"`
	Nonce               string                   `json:"nonce,omitempty"`
	ResponseType        oidc.ResponseType        `json:"responseType"`
	ResponseMode        oidc.ResponseMode        `json:"responseMode,omitempty"`
	CodeChallenge       string                   `json:"codeChallenge,omitempty"`
	CodeChallengeMethod oidc.CodeChallengeMethod `json:"codeChallengeMethod,omitempty"`
	Prompt              []string                 `json:"prompt,omitempty"`
	UILocales           []string                 `json:"uiLocales,omitempty"`
	LoginHint           string                   `json:"loginHint,omitempty"`
	// Resources are the RFC 8707 resources asked for, each known to the
	// applications service when asked.
	Resources []string `json:"resources,omitempty"`
	// FirstScreen is Logto's first_screen.
	FirstScreen string `json:"firstScreen,omitempty"`
	// Direct marks a sign-in without redirects: no browser, no redirect
	// URI; its tokens come from the experience's submit.
	Direct bool `json:"direct,omitempty"`
}

// authRequest is an authorization request as the op package sees it.
type authRequest struct {
	row store.OIDCAuthRequest
	params
}

var _ op.AuthRequest = (*authRequest)(nil)

func newAuthRequest(row store.OIDCAuthRequest) (*authRequest, error) {
	a := &authRequest{row: row}
	if err := json.Unmarshal([]byte(row.Request), &a.params); err != nil {
		return nil, fmt.Errorf("authorization request %s: stored parameters: %w", row.ID, err)
	}
	return a, nil
}

// GetID is the request's ID.
func (a *authRequest) GetID() string { return a.row.ID }

// GetACR is none.
func (a *authRequest) GetACR() string { return "" }

// GetAMR are the methods the user signed in with.
func (a *authRequest) GetAMR() []string { return strings.Fields(a.row.AMR) }

// GetAudience is the client.
func (a *authRequest) GetAudience() []string { return []string{a.row.ClientID} }

// GetAuthTime is when the user signed in.
func (a *authRequest) GetAuthTime() time.Time { return a.row.AuthTime }

// GetClientID is the client.
func (a *authRequest) GetClientID() string { return a.row.ClientID }

// GetCodeChallenge is the PKCE challenge, nil without one.
func (a *authRequest) GetCodeChallenge() *oidc.CodeChallenge {
	if a.CodeChallenge == "" {
		return nil
	}
	return &oidc.CodeChallenge{Challenge: a.CodeChallenge, Method: a.CodeChallengeMethod}
}

// GetNonce is the nonce.
func (a *authRequest) GetNonce() string { return a.Nonce }

// GetRedirectURI is the redirect URI.
func (a *authRequest) GetRedirectURI() string { return a.RedirectURI }

// GetResponseType is the response type.
func (a *authRequest) GetResponseType() oidc.ResponseType { return a.ResponseType }

// GetResponseMode is the response mode.
func (a *authRequest) GetResponseMode() oidc.ResponseMode { return a.ResponseMode }

// GetScopes are the scopes granted.
func (a *authRequest) GetScopes() []string { return a.Scopes }

// GetState is the state.
func (a *authRequest) GetState() string { return a.State }

// GetSubject is the user who signed in, "" before.
func (a *authRequest) GetSubject() string { return a.row.UserID }

// Done reports whether someone signed in.
func (a *authRequest) Done() bool { return a.row.UserID != "" }

// grant is what a user's tokens descend from: a code exchange or a
// refresh token.
type grant struct {
	// family is the authorization request the grant started as.
	family, clientID, subject string
	scopes, resources         []string
	authTime                  time.Time
	amr                       []string
	// nonce is the authorization request's, for the ID token of the code
	// exchange.
	nonce string
}

func (a *authRequest) grant() grant {
	return grant{family: a.row.ID, clientID: a.row.ClientID, subject: a.row.UserID, scopes: a.Scopes,
		resources: a.Resources, authTime: a.row.AuthTime, amr: a.GetAMR(), nonce: a.Nonce}
}

// refreshRequest is a refresh token as the op package sees it.
type refreshRequest struct {
	row    store.OIDCRefreshToken
	scopes []string
}

var _ op.RefreshTokenRequest = (*refreshRequest)(nil)

// GetAMR are the methods the user signed in with.
func (r *refreshRequest) GetAMR() []string { return strings.Fields(r.row.AMR) }

// GetAudience is the client.
func (r *refreshRequest) GetAudience() []string { return []string{r.row.ClientID} }

// GetAuthTime is when the user signed in.
func (r *refreshRequest) GetAuthTime() time.Time { return r.row.AuthTime }

// GetClientID is the client.
func (r *refreshRequest) GetClientID() string { return r.row.ClientID }

// GetScopes are the scopes of this refresh.
func (r *refreshRequest) GetScopes() []string { return r.scopes }

// GetSubject is the user.
func (r *refreshRequest) GetSubject() string { return r.row.Subject }

// SetCurrentScopes narrows the scopes of the tokens this refresh gets.
func (r *refreshRequest) SetCurrentScopes(scopes []string) { r.scopes = scopes }

func (r *refreshRequest) grant() grant {
	return grant{family: r.row.FamilyID, clientID: r.row.ClientID, subject: r.row.Subject, scopes: r.scopes,
		resources: strings.Fields(r.row.Resources), authTime: r.row.AuthTime, amr: r.GetAMR()}
}

// machineRequest is a client credentials grant: the application is the
// subject, and its token is for one resource.
type machineRequest struct {
	clientID, resource string
	scopes             []string
	ttl                time.Duration
}

var _ op.TokenRequest = (*machineRequest)(nil)

// GetSubject is the application.
func (m *machineRequest) GetSubject() string { return m.clientID }

// GetAudience is the resource.
func (m *machineRequest) GetAudience() []string { return []string{m.resource} }

// GetScopes are the scopes granted.
func (m *machineRequest) GetScopes() []string { return m.scopes }

// has reports whether scopes holds scope.
func has(scopes []string, scope string) bool { return slices.Contains(scopes, scope) }
