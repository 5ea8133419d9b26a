package api_test

import (
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/authmail/authmail/internal/app/apptest"
	"github.com/authmail/authmail/internal/config"
	"github.com/authmail/authmail/internal/password"
)

// issueCodes are the codes of a password.rejected error's data.issues.
func issueCodes(t *testing.T, e apptest.Error) []string {
	t.Helper()
	var data struct{ Issues []password.Issue }
	if err := json.Unmarshal(e.Data, &data); err != nil {
		t.Fatalf("password.rejected data %s: %v", e.Data, err)
	}
	var out []string
	for _, i := range data.Issues {
		out = append(out, i.Code)
	}
	return out
}

// TestUsersFollowTheTenantsPasswordPolicy: creating a user and setting a
// password apply the tenant's passwordPolicy, with the user's own
// username and email as the user information, answering 422
// password.rejected with Logto's issues; changing the policy changes what
// is accepted.
func TestUsersFollowTheTenantsPasswordPolicy(t *testing.T) {
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		e := a.WantError("POST", "/api/users", map[string]any{"username": "dana_scully", "password": "dana_scully1"}, http.StatusUnprocessableEntity, "password.rejected")
		if got := issueCodes(t, e); !slices.Equal(got, []string{password.IssueRestrictedUserInfo}) {
			t.Errorf("a password made of the username: issues %v", got)
		}
		var u struct{ ID string }
		a.JSON("POST", "/api/users", map[string]any{"primaryEmail": "fox@example.com", "password": "hjwpqmzk"}, http.StatusOK, &u)

		patchExperience(t, a, map[string]any{"passwordPolicy": map[string]any{"characterTypes": map[string]any{"min": 3}, "rejects": map[string]any{"words": []string{"acme"}}}})
		e = a.WantError("PATCH", "/api/users/"+u.ID+"/password", map[string]any{"password": "hjwpqmzkab"}, http.StatusUnprocessableEntity, "password.rejected")
		if got := issueCodes(t, e); !slices.Equal(got, []string{password.IssueCharacterTypes}) {
			t.Errorf("two character types under a policy of three: issues %v", got)
		}
		e = a.WantError("PATCH", "/api/users/"+u.ID+"/password", map[string]any{"password": "Fox#1acme"}, http.StatusUnprocessableEntity, "password.rejected")
		if got := issueCodes(t, e); !slices.Equal(got, []string{password.IssueRestrictedWords, password.IssueRestrictedUserInfo}) {
			t.Errorf("the email's local part and a restricted word: issues %v", got)
		}
		a.JSON("PATCH", "/api/users/"+u.ID+"/password", map[string]any{"password": "Hjw9 qmzk"}, http.StatusOK, nil)
	})
}

// TestPwnedPasswordsAreRefusedThroughTheRangeAPI: with
// passwordPolicy.rejects.pwned on, a password the range API (an
// httptest server at --pwned-passwords-url, reached through the outbound
// policy) lists is refused with password_rejected.pwned, another
// accepted, and a range API that fails (here for one password's prefix)
// answers 503, creating no user.
func TestPwnedPasswordsAreRefusedThroughTheRangeAPI(t *testing.T) {
	const breached, unlucky = "Tr0ub4dor&3", "Hjw9 qmzk!"
	sha := func(pw string) string {
		sum := sha1.Sum([]byte(pw))
		return strings.ToUpper(hex.EncodeToString(sum[:]))
	}
	hash, failing := sha(breached), sha(unlucky)[:5]
	var asked atomic.Int32
	rangeAPI := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked.Add(1)
		if r.URL.Path == "/range/"+failing {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		if r.URL.Path == "/range/"+hash[:5] {
			fmt.Fprintf(w, "%s:3861493\r\n", hash[5:])
		}
		fmt.Fprintf(w, "%035X:0\r\n", 1)
	}))
	t.Cleanup(rangeAPI.Close)
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		patchExperience(t, a, map[string]any{"passwordPolicy": map[string]any{"rejects": map[string]any{"pwned": true}}})
		e := a.WantError("POST", "/api/users", map[string]any{"username": "eve", "password": breached}, http.StatusUnprocessableEntity, "password.rejected")
		if got := issueCodes(t, e); !slices.Equal(got, []string{password.IssuePwned}) {
			t.Errorf("a breached password: issues %v, want pwned", got)
		}
		a.JSON("POST", "/api/users", map[string]any{"username": "frank", "password": "hjwP 9qmz"}, http.StatusOK, nil)
		if asked.Load() < 2 {
			t.Errorf("the range API was asked %d times, want at least 2", asked.Load())
		}
		a.WantError("POST", "/api/users", map[string]any{"username": "grace", "password": unlucky}, http.StatusServiceUnavailable, "password.pwned_check_unavailable")
		var users []map[string]any
		a.JSON("GET", "/api/users?search=grace", nil, http.StatusOK, &users)
		if len(users) != 0 {
			t.Errorf("a user was created while the breach check failed: %v", users)
		}
	}, apptest.WithSettings(func(s *config.Settings) { s.PwnedPasswordsURL = rangeAPI.URL }))
}
