package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authmail/authmail/internal/app/apptest"
	"github.com/authmail/authmail/internal/experience"
	"github.com/authmail/authmail/internal/testwait"
)

// completer stands in for the OIDC provider until internal/oidc lands:
// it records the login each authorization request completed with and
// answers a callback URL naming it. (Once the provider exists, these
// tests start at /oidc/auth and end at the token endpoint instead.)
type completer struct {
	mu     sync.Mutex
	logins map[string]experience.Login
}

func (c *completer) Complete(_ context.Context, _ string, authRequestID string, login experience.Login) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.logins == nil {
		c.logins = map[string]experience.Login{}
	}
	if _, done := c.logins[authRequestID]; done {
		return "", fmt.Errorf("authorization request %s completed twice", authRequestID)
	}
	c.logins[authRequestID] = login
	return "https://app.example/callback?authRequest=" + authRequestID, nil
}

// login returns the login the authorization request completed with.
func (c *completer) login(t *testing.T, authRequestID string) experience.Login {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	l, ok := c.logins[authRequestID]
	if !ok {
		t.Fatalf("authorization request %s was not completed", authRequestID)
	}
	return l
}

// runFlows runs fn on SQLite and PostgreSQL, each with an app whose
// authorization requests the completer completes.
func runFlows(t *testing.T, fn func(t *testing.T, a *apptest.App, c *completer), opts ...apptest.Option) {
	t.Helper()
	apptest.ForEachDB(t, func(t *testing.T, dbURL string) {
		c := &completer{}
		fn(t, apptest.New(t, dbURL, append([]apptest.Option{apptest.WithCompleter(c)}, opts...)...), c)
	})
}

// emailSignIn turns on email sign-up by code, email sign-in by code and
// by password, and password reset by email code.
func emailSignIn(t *testing.T, a *apptest.App) {
	t.Helper()
	patchExperience(t, a, map[string]any{
		"signUp":                map[string]any{"identifiers": []string{"email"}, "verify": true},
		"signIn":                map[string]any{"methods": []map[string]any{{"identifier": "email", "password": true, "verificationCode": true, "isPasswordPrimary": false}}},
		"forgotPasswordMethods": []string{"EmailVerificationCode"},
	})
}

// browser is one browser's cookies against the app.
type browser struct {
	t           *testing.T
	a           *apptest.App
	cookies     map[string]string
	authRequest string
	header      http.Header
}

var authRequests struct {
	sync.Mutex
	n int
}

// newBrowser starts an interaction as the OIDC provider would for a new
// authorization request, and holds its cookie.
func newBrowser(t *testing.T, a *apptest.App) *browser {
	t.Helper()
	b := &browser{t: t, a: a, cookies: map[string]string{}, header: http.Header{}}
	b.authorize(experience.AuthRequest{ClientID: "app"})
	return b
}

// authorize starts an interaction for a new authorization request with the
// browser's session cookie and returns what Start said.
func (b *browser) authorize(req experience.AuthRequest) experience.StartResult {
	b.t.Helper()
	authRequests.Lock()
	authRequests.n++
	req.ID = fmt.Sprintf("ar-%d-%d", time.Now().UnixNano(), authRequests.n)
	authRequests.Unlock()
	b.authRequest = req.ID
	res, err := b.a.App.Experience.Start(context.Background(), "default", req, b.cookies[experience.SessionCookie])
	if err != nil {
		b.t.Fatalf("starting an interaction: %v", err)
	}
	if res.InteractionCookie != "" {
		b.cookies[experience.InteractionCookie] = res.InteractionCookie
	}
	return res
}

// do sends a request with the browser's cookies (never the admin key) and
// keeps the cookies the response sets.
func (b *browser) do(method, path string, body any) (*http.Response, []byte) {
	b.t.Helper()
	h := b.header.Clone()
	var parts []string
	for k, v := range b.cookies {
		parts = append(parts, k+"="+v)
	}
	if len(parts) > 0 {
		h.Set("Cookie", strings.Join(parts, "; "))
	}
	resp, raw := b.a.Request(method, path, h, body)
	for _, c := range resp.Cookies() {
		if c.MaxAge < 0 || c.Value == "" {
			delete(b.cookies, c.Name)
		} else {
			b.cookies[c.Name] = c.Value
		}
	}
	return resp, raw
}

// ok sends a request and fails the test unless it answers want, decoding
// the body into out when out is not nil.
func (b *browser) ok(method, path string, body any, want int, out any) {
	b.t.Helper()
	resp, raw := b.do(method, path, body)
	if resp.StatusCode != want {
		b.t.Fatalf("%s %s: %d %s, want %d", method, path, resp.StatusCode, raw, want)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			b.t.Fatalf("%s %s: decoding %s: %v", method, path, raw, err)
		}
	}
}

// fails sends a request and fails the test unless it answers status with
// the code; it returns the error.
func (b *browser) fails(method, path string, body any, status int, code string) apptest.Error {
	b.t.Helper()
	resp, raw := b.do(method, path, body)
	var e apptest.Error
	if err := json.Unmarshal(raw, &e); err != nil {
		b.t.Fatalf("%s %s: %d, not a JSON error: %s", method, path, resp.StatusCode, raw)
	}
	if resp.StatusCode != status || e.Code != code {
		b.t.Fatalf("%s %s: %d %s (%s), want %d %s", method, path, resp.StatusCode, e.Code, e.Message, status, code)
	}
	return e
}

func (b *browser) event(event string) {
	b.t.Helper()
	b.ok("PUT", "/api/experience", map[string]string{"interactionEvent": event}, http.StatusNoContent, nil)
}

func emailID(email string) map[string]string {
	return map[string]string{"type": "email", "value": email}
}

// sendCode asks for a code and returns the verificationId.
func (b *browser) sendCode(email, event string) string {
	b.t.Helper()
	var out struct {
		VerificationID string `json:"verificationId"`
		ResendAfter    int    `json:"resendAfter"`
	}
	b.ok("POST", "/api/experience/verification/verification-code", map[string]any{"identifier": emailID(email), "interactionEvent": event}, http.StatusOK, &out)
	if out.VerificationID == "" {
		b.t.Fatalf("no verificationId for %s", email)
	}
	return out.VerificationID
}

// verifyCode gives the code and fails unless it verifies.
func (b *browser) verifyCode(email, id, code string) {
	b.t.Helper()
	var out struct {
		VerificationID string `json:"verificationId"`
	}
	b.ok("POST", "/api/experience/verification/verification-code/verify", map[string]any{"identifier": emailID(email), "verificationId": id, "code": code}, http.StatusOK, &out)
	if out.VerificationID != id {
		b.t.Fatalf("verify answered verificationId %q, want %q", out.VerificationID, id)
	}
}

// codeVerified sends a code for the event, reads it from the dev inbox
// (waiting for a delivery made after the answer) and verifies it.
func (b *browser) codeVerified(email, event string) string {
	b.t.Helper()
	before := len(inbox(b.t, b.a, email))
	id := b.sendCode(email, event)
	b.verifyCode(email, id, newCode(b.t, b.a, email, before))
	return id
}

// newCode waits for a message to email beyond the before it had and
// returns its code.
func newCode(t *testing.T, a *apptest.App, email string, before int) string {
	t.Helper()
	testwait.Until(t, 10*time.Second, func() bool { return len(inbox(t, a, email)) > before }, "no new code in the dev inbox for %s", email)
	return codeFromInbox(t, a, email)
}

// password verifies a password and returns the verificationId.
func (b *browser) password(email, password string) string {
	b.t.Helper()
	var out struct {
		VerificationID string `json:"verificationId"`
	}
	b.ok("POST", "/api/experience/verification/password", map[string]any{"identifier": emailID(email), "password": password}, http.StatusOK, &out)
	return out.VerificationID
}

func (b *browser) identify(id string, want int) {
	b.t.Helper()
	var body any = map[string]string{}
	if id != "" {
		body = map[string]string{"verificationId": id}
	}
	b.ok("POST", "/api/experience/identification", body, want, nil)
}

// submit finishes the interaction and returns redirectTo.
func (b *browser) submit() string {
	b.t.Helper()
	var out struct {
		RedirectTo string `json:"redirectTo"`
	}
	b.ok("POST", "/api/experience/submit", nil, http.StatusOK, &out)
	return out.RedirectTo
}

func createUser(t *testing.T, a *apptest.App, body map[string]any) user {
	t.Helper()
	var u user
	a.JSON("POST", "/api/users", body, http.StatusOK, &u)
	return u
}

func getUser(t *testing.T, a *apptest.App, id string) user {
	t.Helper()
	var u user
	a.JSON("GET", "/api/users/"+id, nil, http.StatusOK, &u)
	return u
}

func usersWith(t *testing.T, a *apptest.App, search string) []user {
	t.Helper()
	var us []user
	a.JSON("GET", "/api/users?search="+search, nil, http.StatusOK, &us)
	return us
}
