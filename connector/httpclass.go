package connector

import (
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// SnippetLimit bounds how much of a provider's response an error carries.
const SnippetLimit = 512

// HTTPStatusError classifies a non-2xx HTTP answer: 401 and 403 are ErrAuth,
// 408 and 5xx are ErrTemporary, 429 is ErrRateLimited (with Retry-After),
// any other status is ErrRejected. code and message are the provider's own,
// parsed from its error body by the caller; when message is empty the error
// carries a bounded snippet of body. Every string in secrets is masked.
func HTTPStatusError(status int, header http.Header, body []byte, code, message string, secrets ...string) error {
	e := &Error{Status: status, Code: code}
	switch {
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		e.Kind = ErrAuth
	case status == http.StatusTooManyRequests:
		e.Kind = ErrRateLimited
		e.RetryAfter = ParseRetryAfter(header.Get("Retry-After"), time.Now())
	case status == http.StatusRequestTimeout || status >= 500:
		e.Kind = ErrTemporary
	default:
		e.Kind = ErrRejected
	}
	if message == "" {
		message = string(body)
	}
	e.Message = Snippet(message, secrets...)
	return e
}

// ParseRetryAfter reads a Retry-After header in seconds or as an HTTP date.
func ParseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// Snippet bounds s to SnippetLimit bytes of valid UTF-8 on one line, with
// every form of every non-empty secret replaced by "[redacted]" (Mask).
func Snippet(s string, secrets ...string) string {
	s = Mask(s, secrets...)
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > SnippetLimit {
		s = s[:SnippetLimit]
		for !utf8.ValidString(s) {
			s = s[:len(s)-1]
		}
		s += "…"
	}
	return s
}

// ReadBody reads at most 64 KiB of r, enough for any provider's error body.
func ReadBody(r io.Reader) []byte {
	b, _ := io.ReadAll(io.LimitReader(r, 64<<10))
	return b
}

// CheckEndpoint validates a base URL override for field: https anywhere,
// plain http only on a loopback host (or anywhere when allowInsecure).
func CheckEndpoint(field, raw string, allowInsecure bool) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, InvalidConfig(field, "must be an absolute http(s) URL such as https://api.example.com")
	}
	if u.User != nil {
		return nil, InvalidConfig(field, "must not carry credentials; put them in their own fields")
	}
	if u.Scheme == "http" && !allowInsecure && !isLoopback(u.Hostname()) {
		return nil, InvalidConfig(field, "must use https (plain http is allowed only on loopback)")
	}
	return u, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
