package oidc

import (
	"encoding/json"
	"errors"
	"html/template"
	"net/http"
	"slices"
	"strings"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/authmail/authmail/internal/experience"
	"github.com/authmail/authmail/internal/store"
)

// interaction is where the authorization endpoint sends the browser
// (/oidc/interaction?authRequest=ID): it starts the experience's
// interaction for the request, sets the interaction cookie and sends the
// browser to the sign-in page, or straight back when the sign-in session
// is still good.
func (p *Provider) interaction(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	ar, err := p.storage.liveAuthRequest(ctx, tenantOf(ctx), r.URL.Query().Get("authRequest"))
	if errors.Is(err, ErrAuthRequestNotFound) || (err == nil && (ar.Done() || ar.Direct)) {
		page(w, http.StatusBadRequest, "Sign-in expired", ErrAuthRequestNotFound.Error())
		return
	}
	if err != nil {
		p.failed(w, r, "reading an authorization request", err)
		return
	}
	if p.experience == nil {
		page(w, http.StatusServiceUnavailable, "Sign-in unavailable", "This server does not offer sign-in pages yet.")
		return
	}
	req := experience.AuthRequest{ID: ar.GetID(), ClientID: ar.GetClientID(), UILocales: ar.UILocales, LoginHint: ar.LoginHint,
		Prompt: strings.Join(ar.Prompt, " "), FirstScreen: ar.FirstScreen}
	res, err := p.experience.Start(ctx, tenantOf(ctx), req, experience.SessionOf(r))
	if errors.Is(err, experience.ErrLoginRequired) {
		// prompt=none and no sign-in session: the app hears it.
		op.AuthRequestError(w, r, ar, oidc.ErrLoginRequired(), p.server.Provider())
		return
	}
	if err != nil {
		p.failed(w, r, "starting a sign-in", err)
		return
	}
	if res.InteractionCookie != "" {
		p.experience.SetInteractionCookie(w, res.InteractionCookie)
	}
	http.Redirect(w, r, res.RedirectTo, http.StatusFound)
}

// signedOut is the page the end of a session shows when the application
// named no post-logout redirect URI.
func (p *Provider) signedOut(w http.ResponseWriter, r *http.Request) {
	page(w, http.StatusOK, "Signed out", "You are signed out. You can close this page.")
}

var pageTemplate = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>{{.Title}}</title></head>
<body><main><h1>{{.Title}}</h1><p role="status">{{.Text}}</p></main></body></html>
`))

// page answers a plain page with a title and a sentence.
func page(w http.ResponseWriter, status int, title, text string) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = pageTemplate.Execute(w, struct{ Title, Text string }{title, text})
}

// refusals answers the provider's refusals. During a database outage
// every refusal is 503 with Retry-After (what the op package answers
// then, a 500 server_error or a 400 that a client was not found, says
// nothing true); a browser's endpoints (the authorization request and
// its callback, the end of a session) answer with a page saying why,
// instead of the op package's JSON or text, since a person reads them and
// they never redirect to an unchecked URI; an app's endpoints answer
// their OAuth error as the op package wrote it.
func (p *Provider) refusals(next http.Handler) http.Handler {
	browser := []string{PathAuthorize, PathAuthorize + "/callback", PathEndSession, PathInteraction}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &recorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		if rec.status < 400 {
			return
		}
		if rec.status == http.StatusServiceUnavailable {
			rec.flush() // answered as unavailable already
			return
		}
		isBrowser := slices.Contains(browser, r.URL.Path)
		if errors.Is(p.Store.Ping(r.Context()), store.ErrUnavailable) {
			p.logger.WarnContext(r.Context(), "database unavailable", "path", r.URL.Path)
			unavailable(w, isBrowser)
			return
		}
		if isBrowser {
			page(w, rec.status, "Sign-in refused", rec.description())
			return
		}
		rec.flush()
	})
}

// unavailable answers 503 with Retry-After: a page for a browser, the
// OAuth error temporarily_unavailable for an app.
func unavailable(w http.ResponseWriter, browser bool) {
	w.Header().Set("Retry-After", "1")
	if browser {
		page(w, http.StatusServiceUnavailable, "Sign-in unavailable", "Signing in is not possible right now. Please try again in a moment.")
		return
	}
	writeOAuthError(w, http.StatusServiceUnavailable, "temporarily_unavailable", "the database did not answer; try again shortly")
}

// failed answers a browser's request that an error stopped: 503 with
// Retry-After, logged as an outage when the database did not answer and
// as an error otherwise.
func (p *Provider) failed(w http.ResponseWriter, r *http.Request, doing string, err error) {
	if errors.Is(err, store.ErrUnavailable) {
		p.logger.WarnContext(r.Context(), "database unavailable", "doing", doing, "err", err)
	} else {
		p.logger.ErrorContext(r.Context(), doing, "err", err)
	}
	unavailable(w, true)
}

// writeOAuthError answers an OAuth error (RFC 6749 section 5.2).
func writeOAuthError(w http.ResponseWriter, status int, code, description string) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": description})
}

// recorder passes a success through and keeps a refusal's body.
type recorder struct {
	http.ResponseWriter
	status int
	body   []byte
}

// WriteHeader passes a success status through and holds back a refusal.
func (r *recorder) WriteHeader(status int) {
	r.status = status
	if status < 400 {
		r.ResponseWriter.WriteHeader(status)
	}
}

// Write passes a success's body through and keeps a refusal's.
func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.WriteHeader(http.StatusOK)
	}
	if r.status >= 400 {
		r.body = append(r.body, b...)
		return len(b), nil
	}
	return r.ResponseWriter.Write(b)
}

// flush writes the refusal it held back, as it was.
func (r *recorder) flush() {
	r.ResponseWriter.WriteHeader(r.status)
	_, _ = r.ResponseWriter.Write(r.body)
}

// description is the refusal's reason: the error_description of an OAuth
// error, else the text.
func (r *recorder) description() string {
	var e struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	if json.Unmarshal(r.body, &e) == nil && (e.Description != "" || e.Error != "") {
		if e.Description == "" {
			return "The request was refused (" + e.Error + ")."
		}
		return e.Description
	}
	if text := strings.TrimSpace(string(r.body)); text != "" {
		return text
	}
	return http.StatusText(r.status)
}
