// Package web holds what the server-rendered surfaces (the hosted sign-in
// pages and the admin console) share: the security headers and the
// Content-Security-Policy, embedded assets under content-hashed URLs,
// message catalogues and the choice of language, html/template views
// parsed once per language, and CSRF tokens that are keyed hashes of a
// cookie. Each surface keeps its own routes, templates and sentences.
package web

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// Policy is what a page's Content-Security-Policy allows beyond this
// origin's scripts and styles.
type Policy struct {
	// ImageOrigins are origins images may also come from (a tenant's
	// logo), as Origins returns them.
	ImageOrigins []string
	// AnyImages lets images come from any https origin and data: URLs, for
	// pages that show an email (whose images are the sender's).
	AnyImages bool
	// DataImages lets images be data: URLs (embedded logos).
	DataImages bool
	// InlineStyles allows style attributes and <style> elements, for pages
	// that show an email in a sandboxed srcdoc frame: the frame inherits the
	// page's policy, and email HTML is styled inline. Scripts stay this
	// origin's only, and the frame's sandbox runs none.
	InlineStyles bool
	// Frames allows srcdoc frames (about:srcdoc) on the page.
	Frames bool
	// Connect allows fetch() to this origin.
	Connect bool
	// FormsLeave drops form-action: browsers apply it to the redirects
	// that answer a form too, and a sign-in's last form is answered by a
	// redirect to the app, on another origin.
	FormsLeave bool
	// FramedBySelf lets pages of this origin frame the page
	// (frame-ancestors 'self'), for the console's preview of the hosted
	// pages; every other page may not be framed at all.
	FramedBySelf bool
}

// CSP is the Content-Security-Policy for p: nothing by default, this
// origin's scripts and styles (no inline script, no eval), forms posted
// only here (unless FormsLeave), never framed, no <base>.
func CSP(p Policy) string {
	img := []string{"'self'"}
	if p.AnyImages {
		img = append(img, "https:", "data:")
	} else {
		if p.DataImages {
			img = append(img, "data:")
		}
		img = append(img, p.ImageOrigins...)
	}
	style := "'self'"
	if p.InlineStyles {
		style += " 'unsafe-inline'"
	}
	parts := []string{"default-src 'none'", "script-src 'self'", "style-src " + style, "img-src " + strings.Join(img, " ")}
	if p.Connect {
		parts = append(parts, "connect-src 'self'")
	}
	if p.Frames {
		parts = append(parts, "frame-src 'self'")
	}
	if !p.FormsLeave {
		parts = append(parts, "form-action 'self'")
	}
	ancestors := "frame-ancestors 'none'"
	if p.FramedBySelf {
		ancestors = "frame-ancestors 'self'"
	}
	parts = append(parts, ancestors, "base-uri 'none'")
	return strings.Join(parts, "; ")
}

// SetSecurityHeaders sets the headers every page and asset carries: the
// default Content-Security-Policy (a page that allows more sets its own
// when it renders), no framing, no referrer, no MIME sniffing, its own
// browsing context group, and no caching (pages carry CSRF tokens and
// codes; assets set their own caching).
func SetSecurityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", CSP(Policy{}))
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
}

// AllowFramingBySelf replaces SetSecurityHeaders' refusal to be framed
// with X-Frame-Options SAMEORIGIN, for a page whose policy is
// FramedBySelf.
func AllowFramingBySelf(h http.Header) { h.Set("X-Frame-Options", "SAMEORIGIN") }

// Headers wraps next so that every answer carries SetSecurityHeaders'
// headers.
func Headers(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		SetSecurityHeaders(w.Header())
		next.ServeHTTP(w, r)
	})
}

// Origins returns the origins (scheme://host) of the given http and https
// URLs, each once, for Policy.ImageOrigins; other URLs are left out.
func Origins(urls ...string) []string {
	var out []string
	for _, raw := range urls {
		u, err := url.Parse(raw)
		if raw == "" || err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			continue
		}
		if o := u.Scheme + "://" + u.Host; !slices.Contains(out, o) {
			out = append(out, o)
		}
	}
	return out
}
