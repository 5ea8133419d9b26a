package connector_test

import (
	"strings"
	"testing"

	"github.com/authmail/authmail/connector"
)

// TestHeaderValueCannotStartAnotherHeader: control characters, CR and LF
// included, and non-ASCII are dropped, the value is trimmed and cut at the
// bound.
func TestHeaderValueCannotStartAnotherHeader(t *testing.T) {
	for _, tc := range []struct {
		in   string
		max  int
		want string
	}{
		{"<msg_1@authmail>", 100, "<msg_1@authmail>"},
		{"a\r\nBcc: eve@example.com", 100, "aBcc: eve@example.com"},
		{"  caf\u00e9\x00 ", 100, "caf"},
		{strings.Repeat("x", 20), 10, strings.Repeat("x", 10)},
		{"abcd     efgh", 6, "abcd"},
	} {
		if got := connector.HeaderValue(tc.in, tc.max); got != tc.want {
			t.Errorf("HeaderValue(%q, %d) = %q, want %q", tc.in, tc.max, got, tc.want)
		}
	}
}

// TestHeaderNameIsAFieldName: printable ASCII without a colon, non-empty,
// within the bound.
func TestHeaderNameIsAFieldName(t *testing.T) {
	for k, want := range map[string]bool{"X-User-Id": true, "": false, "X:Y": false, "X Y": false, "Ünï": false, strings.Repeat("h", 11): false} {
		if got := connector.HeaderName(k, 10); got != want {
			t.Errorf("HeaderName(%q, 10) = %v, want %v", k, got, want)
		}
	}
}
