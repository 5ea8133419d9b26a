package experience

import (
	"context"
	"time"
)

// A sign-in without redirects: an app with its own credentials (a
// Traditional app's client secret, or a Native app's PKCE challenge)
// starts an interaction with StartDirect and gets an interaction token,
// which takes the cookie's place in every step (Caller.Bearer: the
// request's Authorization: Bearer <token>). The token is the same kind
// of secret as the cookie: only its keyed hash is stored, it names one
// interaction, lives as long as it and dies with it at submit. Submit
// answers the tokens the authorization code exchange would have (ID,
// access and refresh tokens, from the OIDC provider), after checking a
// Native app's PKCE verifier, so that the interaction token alone gets
// no tokens. The steps are the browser's, with the same caps, lockouts
// and answers for unknown addresses, and every request of such an
// interaction also counts toward its application's cap (AppLimit).

// DirectStart is what an app starts a sign-in without redirects with.
type DirectStart struct {
	// ClientID is the application's; ClientSecret a Traditional app's
	// secret ("" for a Native app).
	ClientID     string
	ClientSecret string
	// CodeChallenge and CodeChallengeMethod (S256) are the PKCE challenge
	// a Native app must send (a Traditional app may); Submit then takes
	// the verifier.
	CodeChallenge       string
	CodeChallengeMethod string
	// Scopes are the scopes asked for (openid required; offline_access for
	// a refresh token); Resources the API resources (RFC 8707), of which
	// the access token is for the first when there is one.
	Scopes    []string
	Resources []string
	// Nonce is the ID token's nonce, "" for none.
	Nonce string
	// UILocales are the languages of the emails, best first; LoginHint is
	// kept for GET /api/experience/interaction, as login_hint is.
	UILocales []string
	LoginHint string
}

// DirectStarted is what StartDirect answers.
type DirectStarted struct {
	// InteractionToken is the secret the steps take as Authorization:
	// Bearer <token>; it is shown once.
	InteractionToken string `json:"interactionToken"`
	// TokenType is "Bearer".
	TokenType string `json:"tokenType"`
	// ExpiresIn is the interaction's lifetime in seconds; ExpiresAt when
	// it ends.
	ExpiresIn int       `json:"expiresIn"`
	ExpiresAt time.Time `json:"expiresAt"`
}

// Tokens are an OAuth token response (RFC 6749 section 5.1), as the
// OIDC provider's token endpoint answers the code exchange.
type Tokens struct {
	AccessToken  string `json:"access_token,omitempty"`
	TokenType    string `json:"token_type,omitempty"`
	ExpiresIn    uint64 `json:"expires_in,omitempty"`
	RefreshToken string `json:"refresh_token,omitempty"`
	IDToken      string `json:"id_token,omitempty"`
	Scope        string `json:"scope,omitempty"`
}

// Authorizer is what a sign-in without redirects asks of the OIDC
// provider: the authorization request it stands for, the PKCE check and
// the tokens.
type Authorizer interface {
	// AuthenticateApp checks the app's credentials as AuthorizeDirect
	// does, storing nothing: what fails here does not count toward the
	// application's cap, so nobody without its secret can use it up.
	AuthenticateApp(ctx context.Context, tenant string, req DirectStart) error
	// AuthorizeDirect authenticates the app (its secret, or its PKCE
	// challenge for a Native app), checks what it asks for and stores an
	// authorization request, which it returns with Direct set. Refusals
	// are *Error with Logto's oidc.* codes; only Traditional and Native
	// apps may.
	AuthorizeDirect(ctx context.Context, tenant string, req DirectStart) (AuthRequest, error)
	// CheckVerifier checks a PKCE verifier against the request's
	// challenge (none without one), changing nothing.
	CheckVerifier(ctx context.Context, tenant, authRequestID, codeVerifier string) error
	// Tokens completes the request for login and issues the tokens the
	// code exchange would, once: the request is then used up.
	Tokens(ctx context.Context, tenant, authRequestID string, login Login, codeVerifier string) (Tokens, error)
}

// StartDirect begins a sign-in without redirects for an app (POST
// /api/experience/direct): the Authorizer authenticates the app, the
// application's cap counts the start, the Authorizer stores the
// authorization request, and a fresh interaction is made for it, whose
// token is answered once.
// The steps then take the token as Authorization: Bearer, starting with
// PUT /api/experience.
func (s *Service) StartDirect(ctx context.Context, c Caller, req DirectStart) (DirectStarted, error) {
	if s.d.Authorizer == nil {
		return DirectStarted{}, ErrNoCompleter
	}
	if len(req.ClientID) > 128 {
		return DirectStarted{}, invalidInput("clientId", "is not an application's client ID")
	}
	if err := s.d.Authorizer.AuthenticateApp(ctx, c.Tenant, req); err != nil {
		return DirectStarted{}, err
	}
	if err := s.capApp(ctx, c.Tenant, req.ClientID); err != nil {
		return DirectStarted{}, err
	}
	ar, err := s.d.Authorizer.AuthorizeDirect(ctx, c.Tenant, req)
	if err != nil {
		return DirectStarted{}, err
	}
	ar.Direct = true
	token, expires, err := s.newInteraction(ctx, c.Tenant, ar)
	if err != nil {
		return DirectStarted{}, err
	}
	return DirectStarted{InteractionToken: token, TokenType: "Bearer", ExpiresIn: int(InteractionTTL / time.Second), ExpiresAt: expires}, nil
}

// capApp counts a request of a sign-in without redirects toward its
// application's cap.
func (s *Service) capApp(ctx context.Context, tenant, clientID string) error {
	if s.d.Limiter == nil {
		return nil
	}
	return s.d.Limiter.AllowApp(ctx, tenant, s.d.AppLimit, clientID)
}

// open reads the caller's interaction at the start of a step (outside
// its transaction) and, for a sign-in without redirects, counts the step
// toward the application's cap.
func (s *Service) open(ctx context.Context, c Caller) (*interaction, error) {
	in, err := s.load(ctx, s.d.Store.Reader, c)
	if err != nil {
		return nil, err
	}
	if in.req.Direct {
		if err := s.capApp(ctx, c.Tenant, in.req.ClientID); err != nil {
			return nil, err
		}
	}
	return in, nil
}
