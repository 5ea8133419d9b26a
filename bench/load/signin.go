package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/http"
	"net/http/cookiejar"
	"net/mail"
	"net/url"
	"os"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/authmail/authmail/internal/smtpsink"
)

// The sign-in scenario measures what an app's user waits for: the whole
// sign-in by email code through the OpenID Connect provider and the
// experience API, as the hosted pages drive it: authorize, start the
// interaction, send the code, receive it at the sink, verify it, identify,
// submit, follow the redirect back to the app, and exchange the
// authorization code for tokens.

// redirectURI is the load app's redirect URI. Nothing listens there: the
// client stops at the redirect and reads the code from it.
const redirectURI = "http://127.0.0.1:9/callback"

// oidcApp is the OIDC client the sign-ins use.
type oidcApp struct{ id, secret string }

// setUpSignIn turns on sign-in by email code, lifts the per-client caps
// (every sign-in of a run comes from 127.0.0.1), registers the app and
// creates the users who sign in.
func (c *client) setUpSignIn(ctx context.Context, users []string, conc int) (oidcApp, error) {
	if err := c.call(ctx, "PATCH", "/api/sign-in-exp", map[string]any{
		"signInMode": "SignInAndRegister",
		"signUp":     map[string]any{"identifiers": []string{"email"}, "password": false, "verify": true},
		"signIn":     map[string]any{"methods": []map[string]any{{"identifier": "email", "password": false, "verificationCode": true, "isPasswordPrimary": false}}},
		"verificationCodePolicy": map[string]any{"domainSendLimit": 1000000, "tenantSendLimit": 10000000,
			"ipSendLimit": 1000000, "resendCooldown": 0},
	}, http.StatusOK, nil); err != nil {
		return oidcApp{}, fmt.Errorf("turning on sign-in by email code: %w", err)
	}
	var created struct {
		ID     string `json:"id"`
		Secret string `json:"secret"`
	}
	if err := c.call(ctx, "POST", "/api/applications", map[string]any{
		"name": "load", "type": "Traditional",
		"oidcClientMetadata": map[string]any{"redirectUris": []string{redirectURI}, "postLogoutRedirectUris": []string{}},
	}, http.StatusOK, &created); err != nil {
		return oidcApp{}, fmt.Errorf("registering the app: %w", err)
	}
	if err := parallel(ctx, len(users), conc, func(i int) error {
		return c.call(ctx, "POST", "/api/users", map[string]any{"primaryEmail": users[i]}, http.StatusOK, nil)
	}); err != nil {
		return oidcApp{}, fmt.Errorf("creating the users: %w", err)
	}
	return oidcApp{id: created.ID, secret: created.Secret}, nil
}

// call sends a JSON request with the admin key and decodes the answer.
func (c *client) call(ctx context.Context, method, path string, body any, want int, out any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+c.key)
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	rb, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, bytes.TrimSpace(rb))
	}
	if out != nil {
		return json.Unmarshal(rb, out)
	}
	return nil
}

// parallel runs fn(0..n-1), conc at a time, and returns the first error.
func parallel(ctx context.Context, n, conc int, fn func(i int) error) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				if err := fn(i); err != nil {
					once.Do(func() { first = err })
					return
				}
			}
		}()
	}
	wg.Wait()
	if first == nil {
		first = ctx.Err()
	}
	return first
}

// mailbox hands each recipient's messages to whoever waits for them.
type mailbox struct {
	mu      sync.Mutex
	waiting map[string]chan smtpsink.Message
}

func newMailbox() *mailbox { return &mailbox{waiting: map[string]chan smtpsink.Message{}} }

// expect returns the channel the next message to addr arrives on; call it
// before the request that sends the message.
func (m *mailbox) expect(addr string) <-chan smtpsink.Message {
	ch := make(chan smtpsink.Message, 1)
	m.mu.Lock()
	m.waiting[strings.ToLower(addr)] = ch
	m.mu.Unlock()
	return ch
}

// run delivers the sink's messages until ctx ends.
func (m *mailbox) run(ctx context.Context, in <-chan smtpsink.Message) {
	for {
		select {
		case <-ctx.Done():
			return
		case msg := <-in:
			m.mu.Lock()
			for _, to := range msg.To {
				if ch, ok := m.waiting[strings.ToLower(to)]; ok {
					delete(m.waiting, strings.ToLower(to))
					ch <- msg
				}
			}
			m.mu.Unlock()
		}
	}
}

var sixDigits = regexp.MustCompile(`\b(\d{6})\b`)

// codeIn reads the code from a message's text part, as a person would.
func codeIn(msg smtpsink.Message) (string, error) {
	m, err := mail.ReadMessage(bytes.NewReader(msg.Raw))
	if err != nil {
		return "", err
	}
	text, err := textPart(m.Header.Get("Content-Type"), m.Header.Get("Content-Transfer-Encoding"), m.Body)
	if err != nil {
		return "", err
	}
	if c := sixDigits.FindStringSubmatch(text); c != nil {
		return c[1], nil
	}
	return "", errors.New("no code in the message")
}

func textPart(contentType, encoding string, body io.Reader) (string, error) {
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return "", err
	}
	if strings.HasPrefix(mt, "multipart/") {
		r := multipart.NewReader(body, params["boundary"])
		for {
			p, err := r.NextRawPart()
			if err != nil {
				return "", fmt.Errorf("no text part: %w", err)
			}
			if t, err := textPart(p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p); err == nil {
				return t, nil
			}
		}
	}
	if mt != "text/plain" {
		return "", fmt.Errorf("not text: %s", mt)
	}
	switch strings.ToLower(encoding) {
	case "quoted-printable":
		body = quotedprintable.NewReader(body)
	case "base64":
		body = base64.NewDecoder(base64.StdEncoding, body)
	}
	b, err := io.ReadAll(body)
	return string(b), err
}

// signInResult is one sign-in.
type signInResult struct {
	to      string
	start   time.Time
	latency time.Duration // the whole sign-in
	inbox   time.Duration // from the send request to the message at the sink
	err     string
}

// signIns signs in users, conc at a time, and reports each one.
func (c *client) signIns(ctx context.Context, a oidcApp, box *mailbox, users []string, conc int) ([]signInResult, time.Duration) {
	out := make([]signInResult, len(users))
	for i := range out {
		out[i].err = "not run: the run ended first"
	}
	start := time.Now()
	_ = parallel(ctx, len(users), conc, func(i int) error {
		out[i] = c.signIn(ctx, a, box, users[i])
		return nil
	})
	return out, time.Since(start)
}

// signIn runs one sign-in in a browser-like client of its own (its own
// cookies), as a person's browser would.
func (c *client) signIn(ctx context.Context, a oidcApp, box *mailbox, email string) signInResult {
	r := signInResult{to: email, start: time.Now()}
	err := c.signInSteps(ctx, a, box, email, &r)
	r.latency = time.Since(r.start)
	if err != nil {
		r.err = err.Error()
	}
	return r
}

func (c *client) signInSteps(ctx context.Context, a oidcApp, box *mailbox, email string, r *signInResult) error {
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Transport: c.http.Transport, Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if strings.HasPrefix(req.URL.String(), redirectURI) {
				return http.ErrUseLastResponse // back at the app: read the code
			}
			return nil
		}}
	verifier := randomHex(32)
	sum := sha256.Sum256([]byte(verifier))
	state := randomHex(8)
	q := url.Values{"client_id": {a.id}, "redirect_uri": {redirectURI}, "response_type": {"code"},
		"scope": {"openid email"}, "state": {state}, "code_challenge_method": {"S256"},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}}
	if _, err := browse(ctx, browser, "GET", c.base+"/oidc/auth?"+q.Encode(), nil, http.StatusOK); err != nil {
		return fmt.Errorf("authorize: %w", err)
	}
	ident := map[string]any{"type": "email", "value": email}
	if _, err := browse(ctx, browser, "PUT", c.base+"/api/experience", map[string]any{"interactionEvent": "SignIn"}, http.StatusNoContent); err != nil {
		return fmt.Errorf("start: %w", err)
	}
	arrived := box.expect(email)
	sent := time.Now()
	b, err := browse(ctx, browser, "POST", c.base+"/api/experience/verification/verification-code",
		map[string]any{"identifier": ident, "interactionEvent": "SignIn"}, http.StatusOK)
	if err != nil {
		return fmt.Errorf("send the code: %w", err)
	}
	var v struct {
		VerificationID string `json:"verificationId"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	var msg smtpsink.Message
	select {
	case msg = <-arrived:
		r.inbox = time.Since(sent)
	case <-time.After(30 * time.Second):
		return errors.New("the code did not arrive in 30 s")
	case <-ctx.Done():
		return ctx.Err()
	}
	code, err := codeIn(msg)
	if err != nil {
		return err
	}
	if _, err := browse(ctx, browser, "POST", c.base+"/api/experience/verification/verification-code/verify",
		map[string]any{"identifier": ident, "verificationId": v.VerificationID, "code": code}, http.StatusOK); err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	if _, err := browse(ctx, browser, "POST", c.base+"/api/experience/identification",
		map[string]any{"verificationId": v.VerificationID}, http.StatusNoContent); err != nil {
		return fmt.Errorf("identify: %w", err)
	}
	b, err = browse(ctx, browser, "POST", c.base+"/api/experience/submit", nil, http.StatusOK)
	if err != nil {
		return fmt.Errorf("submit: %w", err)
	}
	var sub struct {
		RedirectTo string `json:"redirectTo"`
	}
	if err := json.Unmarshal(b, &sub); err != nil {
		return err
	}
	authCode, err := followToApp(ctx, browser, sub.RedirectTo, state)
	if err != nil {
		return err
	}
	form := url.Values{"grant_type": {"authorization_code"}, "code": {authCode}, "redirect_uri": {redirectURI},
		"code_verifier": {verifier}}
	req, err := http.NewRequestWithContext(ctx, "POST", c.base+"/oidc/token", strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(a.id), url.QueryEscape(a.secret))
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("token: %w", err)
	}
	defer resp.Body.Close()
	tb, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var tok struct {
		IDToken string `json:"id_token"`
	}
	if resp.StatusCode != http.StatusOK || json.Unmarshal(tb, &tok) != nil || tok.IDToken == "" {
		return fmt.Errorf("token: %d %s", resp.StatusCode, bytes.TrimSpace(tb))
	}
	return nil
}

// followToApp follows the redirects from submit's redirectTo back to the
// app and returns the authorization code, checking the state.
func followToApp(ctx context.Context, browser *http.Client, to, state string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", to, nil)
	if err != nil {
		return "", err
	}
	resp, err := browser.Do(req)
	if err != nil {
		return "", fmt.Errorf("back to the app: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	loc, err := resp.Location()
	if err != nil || !strings.HasPrefix(loc.String(), redirectURI) {
		return "", fmt.Errorf("back to the app: %d, not redirected to the app", resp.StatusCode)
	}
	if loc.Query().Get("state") != state || loc.Query().Get("code") == "" {
		return "", fmt.Errorf("back to the app: %s", loc.RawQuery)
	}
	return loc.Query().Get("code"), nil
}

// browse sends a JSON request (or none, for a nil body) as the browser.
func browse(ctx context.Context, browser *http.Client, method, u string, body any, want int) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := browser.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != want {
		return nil, fmt.Errorf("%d %s", resp.StatusCode, bytes.TrimSpace(b[:min(len(b), 300)]))
	}
	return b, nil
}

// runSignIn measures whole sign-ins: users are created first, then
// o.warmup sign-ins warm the server and o.n are measured.
func runSignIn(ctx context.Context, o options) (Result, error) {
	sink, err := smtpsink.Start()
	if err != nil {
		return Result{}, fmt.Errorf("starting the SMTP sink: %w", err)
	}
	defer sink.Close()
	box := newMailbox()
	go box.run(ctx, sink.Subscribe(o.c*4+64))

	dbURL, dropDB, err := prepareDatabase(ctx, o)
	if err != nil {
		return Result{}, err
	}
	defer dropDB()
	logOut := io.Discard
	if o.verbose {
		logOut = os.Stderr
	}
	srv, err := startServer(ctx, o, dbURL, logOut)
	if err != nil {
		return Result{}, err
	}
	defer srv.stop()
	cl := newClient(srv.baseURL, srv.adminKey, o.c)
	if err := cl.createSMTPConnector(ctx, sink.Port(), o.smtpConns); err != nil {
		return Result{}, err
	}
	run := randomHex(3)
	users := make([]string, o.warmup+o.n)
	for i := range users {
		users[i] = fmt.Sprintf("user-%s-%d@load.test", run, i)
	}
	a, err := cl.setUpSignIn(ctx, users, min(o.c, 8))
	if err != nil {
		return Result{}, err
	}
	if o.warmup > 0 {
		w, _ := cl.signIns(ctx, a, box, users[:o.warmup], o.c)
		if ok := countOK(w); ok == 0 {
			return Result{}, fmt.Errorf("warm-up: no sign-in completed: %s", w[0].err)
		}
	}
	self := &server{pid: os.Getpid()}
	cpu0, mach0, tool0 := srv.cpuTime(), machineCPU(), self.cpuTime()
	results, elapsed := cl.signIns(ctx, a, box, users[o.warmup:], o.c)
	cpu1, mach1, tool1 := srv.cpuTime(), machineCPU(), self.cpuTime()

	res := Result{Scenario: "signin", DB: o.db, Mode: o.mode, N: o.n, C: o.c, RequestSeconds: elapsed.Seconds()}
	var lat, inbox []time.Duration
	for _, r := range results {
		if r.err != "" {
			res.Errors++
			if res.FirstError == "" {
				res.FirstError = r.err
			}
			continue
		}
		res.Accepted++
		res.Delivered++
		lat = append(lat, r.latency)
		inbox = append(inbox, r.inbox)
	}
	res.RequestsPerSec = float64(res.Accepted) / elapsed.Seconds()
	res.DeliveredPerS = res.RequestsPerSec
	res.DeliveredRatio = float64(res.Delivered) / float64(o.n)
	res.ReqP50Ms, res.ReqP99Ms = ms(percentile(lat, 50)), ms(percentile(lat, 99))
	res.InboxP50Ms, res.InboxP99Ms = ms(percentile(inbox, 50)), ms(percentile(inbox, 99))
	if n := res.Accepted; n > 0 {
		res.CPUMsPerCode = float64(cpu1-cpu0) / float64(time.Millisecond) / float64(n)
		res.MachineCPUMs = float64(mach1-mach0) / float64(time.Millisecond) / float64(n)
		res.ToolCPUMs = float64(tool1-tool0) / float64(time.Millisecond) / float64(n)
		res.MachineBusy = float64(mach1-mach0) / float64(elapsed) / float64(runtime.NumCPU())
	}
	res.PeakRSSMB, res.RSSMB = srv.memory()
	return res, nil
}

func countOK(rs []signInResult) int {
	n := 0
	for _, r := range rs {
		if r.err == "" {
			n++
		}
	}
	return n
}
