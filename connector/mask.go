package connector

import (
	"encoding/base64"
	"encoding/json"
	"html"
	"net/url"
	"regexp"
	"sort"
	"strings"
)

// Mask returns s with every form a secret travels in replaced by
// "[redacted]": the value itself; its base64 (standard and URL alphabets,
// with and without padding); its URL encodings (query and path escaping);
// its JSON and HTML escaping; and every base64 token of s that decodes to
// text holding the value. The last covers the encodings that wrap a
// secret with other text, which a server may echo in an error: HTTP Basic
// credentials (base64 of user:pass), SMTP AUTH PLAIN (base64 of
// authzid\0user\0pass), AUTH LOGIN and XOAUTH2. Empty secrets are ignored.
func Mask(s string, secrets ...string) string {
	var forms []string
	shortest := 0
	for _, sec := range secrets {
		if sec == "" || sec == Redacted {
			continue
		}
		if shortest == 0 || len(sec) < shortest {
			shortest = len(sec)
		}
		forms = append(forms, secretForms(sec)...)
	}
	if len(forms) == 0 {
		return s
	}
	// Longest first, so a form that contains another is replaced whole.
	sort.Slice(forms, func(i, j int) bool { return len(forms[i]) > len(forms[j]) })
	for _, f := range forms {
		if f != "" && strings.Contains(s, f) {
			s = strings.ReplaceAll(s, f, Redacted)
		}
	}
	minToken := shortest * 4 / 3
	return base64Token.ReplaceAllStringFunc(s, func(tok string) string {
		if len(tok) < minToken {
			return tok
		}
		for _, dec := range decodeBase64(tok) {
			for _, sec := range secrets {
				if sec != "" && sec != Redacted && strings.Contains(dec, sec) {
					return Redacted
				}
			}
		}
		return tok
	})
}

// base64Token matches a run of base64 characters (either alphabet) with
// its padding.
var base64Token = regexp.MustCompile(`[A-Za-z0-9+/_-]{4,}={0,2}`)

// secretForms are the literal encodings of sec that Mask replaces.
func secretForms(sec string) []string {
	b := []byte(sec)
	out := []string{sec,
		base64.StdEncoding.EncodeToString(b), base64.RawStdEncoding.EncodeToString(b),
		base64.URLEncoding.EncodeToString(b), base64.RawURLEncoding.EncodeToString(b),
		url.QueryEscape(sec), url.PathEscape(sec), html.EscapeString(sec)}
	if j, err := json.Marshal(sec); err == nil {
		out = append(out, strings.Trim(string(j), `"`))
	}
	return out
}

// decodeBase64 decodes tok in both alphabets, from each of the four
// positions a base64 quantum can start at (a token may begin inside one),
// ignoring a trailing partial quantum. It returns what decoded.
func decodeBase64(tok string) []string {
	tok = strings.TrimRight(tok, "=")
	var out []string
	for off := 0; off < 4 && off < len(tok); off++ {
		t := tok[off:]
		if len(t)%4 == 1 {
			t = t[:len(t)-1]
		}
		for _, enc := range []*base64.Encoding{base64.RawStdEncoding, base64.RawURLEncoding} {
			if b, err := enc.DecodeString(t); err == nil {
				out = append(out, string(b))
			}
		}
	}
	return out
}
