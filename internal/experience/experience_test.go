package experience

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"golang.org/x/text/language"
)

// TestRelativeTimeSaysWhenInTheCallersLanguage: the time left is never
// said too early (rounded up), in seconds, minutes or hours, in French
// for a French caller and in English otherwise.
func TestRelativeTimeSaysWhenInTheCallersLanguage(t *testing.T) {
	fr := []language.Tag{language.MustParse("fr-CA"), language.English}
	for _, c := range []struct {
		d     time.Duration
		langs []language.Tag
		want  string
	}{
		{30 * time.Second, nil, "in 30 seconds"},
		{time.Second / 2, nil, "in 1 second"},
		{59*time.Minute + time.Second, nil, "in 60 minutes"},
		{61 * time.Second, nil, "in 2 minutes"},
		{90 * time.Minute, nil, "in 2 hours"},
		{42 * time.Minute, fr, "dans 42 minutes"},
		{time.Minute, fr, "dans 60 secondes"},
		{time.Second, fr, "dans 1 seconde"},
		{42 * time.Minute, []language.Tag{language.German}, "in 42 minutes"},
	} {
		if got := relativeTime(c.d, c.langs); got != c.want {
			t.Errorf("relativeTime(%s, %v) = %q, want %q", c.d, c.langs, got, c.want)
		}
	}
}

// TestCookiesAreSecureBehindHTTPS: the cookies are HttpOnly, SameSite=Lax
// and Path=/ always, Secure when the public URL is https, and cleared with
// a negative Max-Age.
func TestCookiesAreSecureBehindHTTPS(t *testing.T) {
	for url, secure := range map[string]bool{"https://auth.example.com": true, "http://127.0.0.1:8080": false} {
		s := New(Deps{PublicURL: url})
		w := httptest.NewRecorder()
		s.SetInteractionCookie(w, "i")
		s.SetSessionCookie(w, "s")
		s.ClearSessionCookie(w)
		cs := (&http.Response{Header: w.Header()}).Cookies()
		if len(cs) != 3 {
			t.Fatalf("%s: %d cookies set, want 3", url, len(cs))
		}
		for i, want := range []struct {
			name   string
			maxAge int
		}{{InteractionCookie, 3600}, {SessionCookie, 14 * 24 * 3600}, {SessionCookie, -1}} {
			c := cs[i]
			if c.Name != want.name || c.MaxAge != want.maxAge || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Secure != secure {
				t.Errorf("%s: cookie %d = %+v, want %s Max-Age %d, HttpOnly, Lax, Path=/, Secure %v", url, i, c, want.name, want.maxAge, secure)
			}
		}
	}
}
