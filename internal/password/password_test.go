package password_test

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/authmail/authmail/internal/outbound"
	"github.com/authmail/authmail/internal/password"
)

// issues runs the checker with no breach check and returns the issue
// codes, or nil when the password is accepted.
func issues(t *testing.T, p password.Policy, pw string, u password.UserInfo) []password.Issue {
	t.Helper()
	err := password.NewChecker(http.DefaultClient, "http://unused.invalid").Check(context.Background(), p, pw, u)
	if err == nil {
		return nil
	}
	var pe *password.Error
	if !errors.As(err, &pe) {
		t.Fatalf("Check(%q) = %v, want a *password.Error or nil", pw, err)
	}
	if len(pe.Issues) == 0 {
		t.Fatalf("Check(%q) refused with no issue", pw)
	}
	if strings.Contains(pe.Error(), pw) {
		t.Errorf("the error %q shows the password", pe.Error())
	}
	return pe.Issues
}

func codes(is []password.Issue) []string {
	var out []string
	for _, i := range is {
		out = append(out, i.Code)
	}
	return out
}

// TestEachRuleRefusesWithLogtosCode: every rule of the policy refuses what
// it should with Logto's issue code and values, and accepts a password
// that breaks none.
func TestEachRuleRefusesWithLogtosCode(t *testing.T) {
	def := password.DefaultPolicy()
	with := func(f func(p *password.Policy)) password.Policy {
		p := password.DefaultPolicy()
		f(&p)
		return p
	}
	cases := []struct {
		name   string
		policy password.Policy
		pw     string
		user   password.UserInfo
		want   []password.Issue
	}{
		{"accepted", def, "correct horse battery", password.UserInfo{}, nil},
		{"too short", def, "aB3$xq7", password.UserInfo{}, []password.Issue{{Code: password.IssueTooShort, Interpolation: map[string]int{"min": 8}}}},
		{"length in characters, not bytes", with(func(p *password.Policy) { p.Length.Min = 4 }), "Zq#9", password.UserInfo{}, nil},
		{"too long", with(func(p *password.Policy) { p.Length.Max = 10 }), "aB3$xY7!kQw", password.UserInfo{},
			[]password.Issue{{Code: password.IssueTooLong, Interpolation: map[string]int{"max": 10}}}},
		{"too few character types", with(func(p *password.Policy) { p.CharacterTypes.Min = 3 }), "hjwpqmzkHJ", password.UserInfo{},
			[]password.Issue{{Code: password.IssueCharacterTypes, Interpolation: map[string]int{"min": 3}}}},
		{"four character types", with(func(p *password.Policy) { p.CharacterTypes.Min = 4 }), "hjwP 9qmz", password.UserInfo{}, nil},
		{"unsupported characters", def, "pässwört1X", password.UserInfo{}, []password.Issue{{Code: password.IssueUnsupportedCharacters}}},
		{"repetition", def, "aaaaaaaaX", password.UserInfo{}, []password.Issue{{Code: password.IssueRestrictedRepetition}}},
		{"sequence", def, "abcdefgh9", password.UserInfo{}, []password.Issue{{Code: password.IssueRestrictedSequence}}},
		{"reversed keyboard sequence", def, "POIUYTREW", password.UserInfo{}, []password.Issue{{Code: password.IssueRestrictedSequence}}},
		{"repetition and sequence together", def, "1111234567", password.UserInfo{},
			[]password.Issue{{Code: password.IssueRestrictedRepetition}, {Code: password.IssueRestrictedSequence}}},
		{"a short run is tolerated", def, "xabcq7Zp", password.UserInfo{}, nil},
		{"repetition allowed when off", with(func(p *password.Policy) { p.Rejects.RepetitionAndSequence = false }), "aaaaaaaaX", password.UserInfo{}, nil},
		{"username", def, "dana.scully1", password.UserInfo{Username: "dana.scully"}, []password.Issue{{Code: password.IssueRestrictedUserInfo}}},
		{"email local part, any case", def, "Mulder#1", password.UserInfo{Email: "mulder@fbi.example"}, []password.Issue{{Code: password.IssueRestrictedUserInfo}}},
		{"name without its spaces", def, "foxmulder1", password.UserInfo{Name: "Fox Mulder"}, []password.Issue{{Code: password.IssueRestrictedUserInfo}}},
		{"user info allowed when off", with(func(p *password.Policy) { p.Rejects.UserInfo = false }), "dana.scully1", password.UserInfo{Username: "dana.scully"}, nil},
		{"restricted words, any case", with(func(p *password.Policy) { p.Rejects.Words = []string{"acme"} }), "AcmeACME7", password.UserInfo{},
			[]password.Issue{{Code: password.IssueRestrictedWords}}},
		{"every issue at once", with(func(p *password.Policy) { p.CharacterTypes.Min = 2 }), "aaaa", password.UserInfo{},
			[]password.Issue{{Code: password.IssueTooShort, Interpolation: map[string]int{"min": 8}},
				{Code: password.IssueCharacterTypes, Interpolation: map[string]int{"min": 2}}, {Code: password.IssueRestrictedRepetition}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := issues(t, tc.policy, tc.pw, tc.user)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Check(%q) issues = %+v, want %+v", tc.pw, got, tc.want)
			}
		})
	}
}

// TestPolicyValidateNamesTheField: values out of range are refused naming
// the field; the default policy is valid.
func TestPolicyValidateNamesTheField(t *testing.T) {
	if err := password.DefaultPolicy().Validate(); err != nil {
		t.Fatalf("the default policy: %v", err)
	}
	for field, f := range map[string]func(p *password.Policy){
		"length.min":         func(p *password.Policy) { p.Length.Min = 0 },
		"length.max":         func(p *password.Policy) { p.Length.Max = password.MaxLength + 1 },
		"characterTypes.min": func(p *password.Policy) { p.CharacterTypes.Min = 5 },
		"rejects.words":      func(p *password.Policy) { p.Rejects.Words = []string{""} },
	} {
		p := password.DefaultPolicy()
		f(&p)
		var fe *password.FieldError
		if err := p.Validate(); !errors.As(err, &fe) || fe.Field != field {
			t.Errorf("%s out of range: Validate = %v, want a FieldError for it", field, err)
		}
	}
	p := password.DefaultPolicy()
	p.Length.Min, p.Length.Max = 20, 10
	var fe *password.FieldError
	if err := p.Validate(); !errors.As(err, &fe) || fe.Field != "length.max" {
		t.Errorf("max below min: Validate = %v, want a FieldError for length.max", err)
	}
}

// rangeAPI is an httptest server speaking Pwned Passwords' range API: GET
// /range/{5 hex} answers SUFFIX:COUNT lines for the passwords it knows
// whose SHA-1 starts with the prefix (a count of 0 is a padding line),
// padded with more zero-count lines when Add-Padding asks. It records the
// paths asked.
type rangeAPI struct {
	*httptest.Server
	mu     sync.Mutex
	asked  []string
	status int
}

func newRangeAPI(t *testing.T, counts map[string]int) *rangeAPI {
	hashes := map[string]int{}
	for pw, n := range counts {
		sum := sha1.Sum([]byte(pw))
		hashes[strings.ToUpper(hex.EncodeToString(sum[:]))] = n
	}
	api := &rangeAPI{status: http.StatusOK}
	api.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		api.mu.Lock()
		api.asked = append(api.asked, r.URL.Path)
		status := api.status
		api.mu.Unlock()
		prefix, ok := strings.CutPrefix(r.URL.Path, "/range/")
		if !ok || len(prefix) != 5 || strings.ToUpper(prefix) != prefix {
			http.Error(w, "The hash prefix was not in a valid format", http.StatusBadRequest)
			return
		}
		if status != http.StatusOK {
			w.WriteHeader(status)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		for h, n := range hashes {
			if strings.HasPrefix(h, prefix) {
				fmt.Fprintf(w, "%s:%d\r\n", h[5:], n)
			}
		}
		if r.Header.Get("Add-Padding") == "true" {
			for i := range 3 {
				fmt.Fprintf(w, "%035X:0\r\n", i)
			}
		}
	}))
	t.Cleanup(api.Close)
	return api
}

func (a *rangeAPI) paths() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.asked)
}

// guardedClient is the outbound policy's client, allowing loopback, where
// the test server listens.
func guardedClient(t *testing.T) *http.Client {
	g, err := outbound.New(context.Background(), outbound.Policy{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}})
	if err != nil {
		t.Fatal(err)
	}
	return g.HTTPClient()
}

// TestPwnedAsksTheRangeAPIWithAPrefixOnly: with rejects.pwned on, a
// breached password is refused with password_rejected.pwned and another
// accepted; the range API is asked for the first five hex digits of the
// SHA-1 only, never the password or the rest of its hash; a zero-count
// padding line is no breach; a password refused by another rule is not
// looked up; an API that fails is an error, neither acceptance nor
// refusal; and the outbound policy applies.
func TestPwnedAsksTheRangeAPIWithAPrefixOnly(t *testing.T) {
	const breached, padded = "Tr0ub4dor&3", "correct horse battery"
	api := newRangeAPI(t, map[string]int{breached: 42, padded: 0})
	c := password.NewChecker(guardedClient(t), api.URL+"/")
	p := password.DefaultPolicy()
	p.Rejects.Pwned = true
	ctx := context.Background()

	var pe *password.Error
	if err := c.Check(ctx, p, breached, password.UserInfo{}); !errors.As(err, &pe) || !slices.Equal(codes(pe.Issues), []string{password.IssuePwned}) {
		t.Fatalf("a breached password: %v, want password_rejected.pwned alone", err)
	}
	if err := c.Check(ctx, p, "hjwP 9qmz", password.UserInfo{}); err != nil {
		t.Fatalf("a password not in the list: %v, want it accepted", err)
	}
	sum := sha1.Sum([]byte(breached))
	full := strings.ToUpper(hex.EncodeToString(sum[:]))
	asked := api.paths()
	if len(asked) != 2 || asked[0] != "/range/"+full[:5] {
		t.Fatalf("the range API was asked %v, want /range/%s then one more", asked, full[:5])
	}
	// A padding line whose suffix matches, with a zero count, is no breach.
	if err := c.Check(ctx, p, padded, password.UserInfo{}); err != nil {
		t.Fatalf("a password on a zero-count line: %v, want it accepted", err)
	}

	before := len(api.paths())
	if err := c.Check(ctx, p, "short", password.UserInfo{}); !errors.As(err, &pe) || slices.Contains(codes(pe.Issues), password.IssuePwned) {
		t.Fatalf("a short password: %v, want refused for its length only", err)
	}
	if n := len(api.paths()); n != before {
		t.Errorf("a password refused anyway was looked up (%d requests, want %d)", n, before)
	}

	api.mu.Lock()
	api.status = http.StatusServiceUnavailable
	api.mu.Unlock()
	if err := c.Check(ctx, p, "correct horse battery", password.UserInfo{}); !errors.Is(err, password.ErrPwnedUnavailable) {
		t.Errorf("the range API failing: %v, want ErrPwnedUnavailable", err)
	}

	// The outbound policy refuses loopback unless allowed.
	g, err := outbound.New(ctx, outbound.Policy{})
	if err != nil {
		t.Fatal(err)
	}
	if err := password.NewChecker(g.HTTPClient(), api.URL).Check(ctx, p, "correct horse battery", password.UserInfo{}); !errors.Is(err, password.ErrPwnedUnavailable) {
		t.Errorf("a range API the outbound policy refuses: %v, want ErrPwnedUnavailable", err)
	}
}
