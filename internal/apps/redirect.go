package apps

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"unicode"
)

// customScheme is Logto's rule for a native app's own URI scheme
// (mobileUriSchemeProtocolRegEx): a letter, then letters, digits, +, _
// and -, in dot-separated parts; http and https are not custom.
var customScheme = regexp.MustCompile(`^[a-z][\d+_a-z-]*(\.[\d+_a-z-]+)*$`)

// loopbackHosts may be reached over plain http: the browser and the app
// are on one machine.
func loopbackHost(host string) bool {
	return host == "localhost" || host == "127.0.0.1" || host == "::1"
}

// browserScheme reports whether a scheme is one the browser acts on
// itself, so that no app receives the redirect (and javascript: would run
// in the sign-in page's origin); Logto's rule lets these through.
func browserScheme(scheme string) bool {
	switch scheme {
	case "javascript", "vbscript", "data", "blob", "file", "filesystem", "about", "ftp", "ws", "wss", "view-source":
		return true
	}
	return false
}

// checkRedirectURIs checks a list of redirect (or post-logout redirect)
// URIs of an application of type t, naming the field of the first bad
// one.
func checkRedirectURIs(field string, t Type, uris []string) error {
	if len(uris) > maxURIs {
		return &FieldError{Field: field, Reason: fmt.Sprintf("must hold at most %d URIs", maxURIs)}
	}
	for i, u := range uris {
		if reason := redirectURIProblem(t, u); reason != "" {
			return &FieldError{Field: fmt.Sprintf("%s[%d]", field, i), Reason: reason}
		}
	}
	return nil
}

// redirectURIProblem says what is wrong with a redirect URI, or "": it is
// absolute, without a fragment, a wildcard, credentials or dot segments,
// and uses https, or http to a loopback host; a Native application may
// use its own scheme instead (com.example.app:/callback), as Logto
// allows. URIs are matched exactly as written, so a wildcard is refused
// rather than taken literally.
func redirectURIProblem(t Type, raw string) string {
	web := "must use https, or http only to localhost, 127.0.0.1 or [::1]"
	if t == TypeNative {
		web += ", or the app's own scheme (such as com.example.app:/callback)"
	}
	switch {
	case raw == "":
		return "must not be empty"
	case len(raw) > maxURI:
		return fmt.Sprintf("must be at most %d bytes", maxURI)
	case strings.ContainsFunc(raw, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }):
		return "must not hold spaces or control characters"
	case strings.Contains(raw, "*"):
		return "must not hold a wildcard (*): redirect URIs are matched exactly as written"
	case strings.Contains(raw, "#"):
		return "must not have a fragment (#)"
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() {
		return "must be an absolute URI, such as https://app.example.com/callback"
	}
	if u.User != nil {
		return "must not hold user credentials"
	}
	for _, seg := range strings.Split(u.EscapedPath(), "/") {
		if seg = strings.ToLower(seg); seg == "." || seg == ".." || seg == "%2e" || seg == "%2e%2e" {
			return "must not hold . or .. path segments"
		}
	}
	switch u.Scheme {
	case "https":
		if u.Host == "" {
			return "must name a host"
		}
	case "http":
		if !loopbackHost(u.Hostname()) {
			return web
		}
	default:
		if t != TypeNative || !customScheme.MatchString(u.Scheme) {
			return web
		}
		if browserScheme(u.Scheme) {
			return "must not use a scheme the browser itself handles (" + u.Scheme + ":)"
		}
	}
	return ""
}

// isOrigin reports whether s is an origin: an http or https URL of a host,
// perhaps with a port, and nothing else.
func isOrigin(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" && u.User == nil &&
		u.Scheme+"://"+u.Host == s
}

// WebURIProblem says what is wrong with a URI a browser is sent to on the
// web, by the rules of a web application's redirect URIs (https, or http to
// a loopback host), or "" when nothing is.
func WebURIProblem(raw string) string { return redirectURIProblem(TypeTraditional, raw) }
