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
)

// interaction is where the authorization endpoint sends the browser
// (/oidc/interaction?authRequest=ID): it starts the experience's
// interaction for the request, sets the interaction cookie and sends the
// browser to the sign-in page, or straight back when the sign-in session
// is still good.
func (p *Provider) interaction(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	ar, err := p.storage.liveAuthRequest(ctx, tenantOf(ctx), r.URL.Query().Get("authRequest"))
	if errors.Is(err, ErrAuthRequestNotFound) || (err == nil && ar.Done()) {
		page(w, http.StatusBadRequest, "Sign-in expired", ErrAuthRequestNotFound.Error())
		return
	}
	if err != nil {
		p.logger.ErrorContext(ctx, "reading an authorization request", "err", err)
		page(w, http.StatusServiceUnavailable, "Sign-in unavailable", "Signing in is not possible right now. Please try again in a moment.")
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
		p.logger.ErrorContext(ctx, "starting a sign-in", "err", err)
		page(w, http.StatusServiceUnavailable, "Sign-in unavailable", "Signing in is not possible right now. Please try again in a moment.")
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

// errorPages answers the browser's endpoints' refusals (the
// authorization request and its callback, the end of a session) with a
// page saying why, instead of the op package's JSON or text: these are
// seen by a person, and never redirect to an unchecked URI.
func errorPages(next http.Handler) http.Handler {
	browser := []string{PathAuthorize, PathAuthorize + "/callback", PathEndSession}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !slices.Contains(browser, r.URL.Path) {
			next.ServeHTTP(w, r)
			return
		}
		rec := &recorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		if rec.status >= 400 {
			page(w, rec.status, "Sign-in refused", rec.description())
		}
	})
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
