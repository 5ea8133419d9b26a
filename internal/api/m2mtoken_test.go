package api_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/authmail/authmail/internal/app/apptest"
	"github.com/authmail/authmail/internal/apps"
)

// privateKey is a signing key as the key list shows it.
type privateKey struct {
	ID                  string `json:"id"`
	CreatedAt           int64  `json:"createdAt"`
	SigningKeyAlgorithm string `json:"signingKeyAlgorithm"`
	Status              string `json:"status"`
}

func TestPrivateKeyRoutes(t *testing.T) {
	apptest.Run(t, func(t *testing.T, a *apptest.App) {
		var keys []privateKey
		a.JSON("GET", "/api/configs/oidc/private-keys", nil, 200, &keys)
		if len(keys) != 1 || keys[0].Status != "Current" || keys[0].SigningKeyAlgorithm != "EC" || keys[0].CreatedAt == 0 {
			t.Fatalf("keys on a fresh tenant: %+v", keys)
		}
		first := keys[0].ID
		a.JSON("POST", "/api/configs/oidc/private-keys/rotate", nil, 200, &keys)
		if len(keys) != 2 || keys[0].Status != "Current" || keys[0].ID == first || keys[1].ID != first || keys[1].Status != "Previous" {
			t.Fatalf("after rotation: %+v", keys)
		}
		a.JSON("POST", "/api/configs/oidc/private-keys/rotate", map[string]any{"signingKeyAlgorithm": "EC", "rotationGracePeriod": 0}, 200, &keys)
		if len(keys) != 3 {
			t.Errorf("after a second rotation: %+v", keys)
		}
		a.WantError("POST", "/api/configs/oidc/private-keys/rotate", map[string]any{"signingKeyAlgorithm": "RSA"}, http.StatusBadRequest, "guard.invalid_input")
		a.WantError("POST", "/api/configs/oidc/private-keys/rotate", map[string]any{"rotationGracePeriod": 3600}, http.StatusBadRequest, "guard.invalid_input")
		a.JSON("GET", "/api/configs/oidc/private-keys", nil, 200, &keys)
		if len(keys) != 3 {
			t.Errorf("refused rotations rotated: %+v", keys)
		}
		// The answers never hold key material.
		status, b := a.Do("GET", "/api/configs/oidc/private-keys", nil)
		for _, member := range []string{`"d"`, `"x"`, `"y"`, "PRIVATE", "v1:"} {
			if status != 200 || strings.Contains(string(b), member) {
				t.Errorf("the key list holds %s: %s", member, b)
			}
		}
	})
}

// m2m is a machine-to-machine application that may call the management
// API, and what a test needs to make tokens for it.
type m2m struct {
	a      *apptest.App
	id     string
	issuer string
	now    func() time.Time
}

// claims are a token's claims, to change one at a time.
type claims map[string]any

func (m m2m) claims() claims {
	now := m.now()
	return claims{"iss": m.issuer, "sub": m.id, "client_id": m.id, "aud": apps.ManagementResource, "scope": "all",
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Hour).Unix(), "jti": "t1"}
}

// sign signs claims with the tenant's current key, as the OIDC provider
// does.
func (m m2m) sign(t *testing.T, c claims) string {
	t.Helper()
	k, err := m.a.App.SigningKeys.Current(t.Context(), "default")
	if err != nil {
		t.Fatal(err)
	}
	return signWith(t, jose.ES256, k.Private, k.ID, c)
}

func signWith(t *testing.T, alg jose.SignatureAlgorithm, key any, kid string, c claims) string {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, (&jose.SignerOptions{}).WithType("at+jwt").WithHeader("kid", kid))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.Signed(signer).Claims(map[string]any(c)).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// call sends GET /api/users with the token and returns the status and
// the error message.
func (m m2m) call(t *testing.T, token string) (int, string) {
	t.Helper()
	resp, b := m.a.Request("GET", "/api/users", http.Header{"Authorization": {"Bearer " + token}}, nil)
	var e apptest.Error
	_ = json.Unmarshal(b, &e)
	return resp.StatusCode, e.Message
}

func newM2M(t *testing.T, a *apptest.App, now func() time.Time) m2m {
	t.Helper()
	app := createApp(t, a, map[string]any{"name": "Robot", "type": "MachineToMachine"})
	a.JSON("POST", "/api/applications/"+app.ID+"/roles", map[string]any{"roleIds": []string{apps.ManagementRoleID}}, http.StatusCreated, nil)
	return m2m{a: a, id: app.ID, issuer: a.App.PublicURL + "/oidc", now: now}
}

func TestManagementAPIAcceptsM2MTokens(t *testing.T) {
	// The app's clock is far from the real one: validity is judged by
	// the server's clock, not the machine's.
	apptest.ForEachDB(t, func(t *testing.T, dbURL string) {
		clock := &frozenClock{now: time.Date(2031, 5, 6, 7, 8, 9, 0, time.UTC)}
		a := apptest.New(t, dbURL, apptest.WithNow(clock.Now))
		m := newM2M(t, a, clock.Now)
		good := m.sign(t, m.claims())
		if status, msg := m.call(t, good); status != 200 {
			t.Fatalf("a valid token: %d %s", status, msg)
		}

		w := func(key string, v any, more ...string) claims { return with(m.claims(), key, v, more...) }
		other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		current, err := a.App.SigningKeys.Current(t.Context(), "default")
		if err != nil {
			t.Fatal(err)
		}
		parts := strings.Split(good, ".")
		enc := base64.RawURLEncoding
		payload, _ := enc.DecodeString(parts[1])
		tampered := strings.Replace(string(payload), `"scope":"all"`, `"scope":"alL"`, 1)
		spa := createApp(t, a, map[string]any{"name": "Web", "type": "SPA"})
		plain := createApp(t, a, map[string]any{"name": "No role", "type": "MachineToMachine"})
		bad := map[string]string{
			"tampered payload":        parts[0] + "." + enc.EncodeToString([]byte(tampered)) + "." + parts[2],
			"tampered signature":      parts[0] + "." + parts[1] + "." + enc.EncodeToString([]byte("not a signature at all, sixty-four bytes long.....................")),
			"expired":                 m.sign(t, w("exp", clock.Now().Add(-time.Second).Unix())),
			"no expiry":               m.sign(t, w("exp", nil)),
			"not yet valid":           m.sign(t, w("nbf", clock.Now().Add(time.Minute).Unix())),
			"wrong audience":          m.sign(t, w("aud", "https://api.example.com")),
			"no audience":             m.sign(t, w("aud", nil)),
			"wrong scope":             m.sign(t, w("scope", "read write")),
			"scope as a substring":    m.sign(t, w("scope", "allx")),
			"wrong issuer":            m.sign(t, w("iss", "https://evil.example.com/oidc")),
			"issuer with a slash":     m.sign(t, w("iss", m.issuer+"/")),
			"unknown kid":             signWith(t, jose.ES256, other, "nosuchkey", m.claims()),
			"another key, known kid":  signWith(t, jose.ES256, other, current.ID, m.claims()),
			"HS256 with the kid":      signWith(t, jose.HS256, []byte("0123456789abcdef0123456789abcdef"), current.ID, m.claims()),
			"alg none":                enc.EncodeToString([]byte(`{"alg":"none","kid":"`+current.ID+`"}`)) + "." + parts[1] + ".",
			"an SPA's token":          m.sign(t, w("sub", spa.ID, "client_id")),
			"an M2M app without role": m.sign(t, w("client_id", plain.ID)),
			"an unknown client":       m.sign(t, w("client_id", "nosuchapp")),
			"three dots of junk":      "a.b.c",
		}
		for name, tok := range bad {
			status, msg := m.call(t, tok)
			if status != http.StatusUnauthorized || msg != "the token is not valid" {
				t.Errorf("%s: %d %q, want 401 \"the token is not valid\"", name, status, msg)
			}
		}
		logs := a.Logs()
		for name, tok := range bad {
			if parts := strings.Split(tok, "."); len(parts[1]) > 8 && strings.Contains(logs, parts[1]) {
				t.Errorf("the log holds the %s token", name)
			}
		}
		if strings.Contains(logs, good) {
			t.Error("the log holds a valid token")
		}
		// The token is still good, and stops working the moment the role
		// is taken or the application deleted.
		if status, _ := m.call(t, good); status != 200 {
			t.Fatalf("the valid token after the refusals: %d", status)
		}
		a.JSON("DELETE", "/api/applications/"+m.id+"/roles/"+apps.ManagementRoleID, nil, http.StatusNoContent, nil)
		if status, msg := m.call(t, good); status != http.StatusUnauthorized || msg != "the token is not valid" {
			t.Errorf("after the role was taken: %d %s", status, msg)
		}
		a.JSON("POST", "/api/applications/"+m.id+"/roles", map[string]any{"roleIds": []string{apps.ManagementRoleID}}, http.StatusCreated, nil)
		if status, _ := m.call(t, good); status != 200 {
			t.Errorf("after the role was given back: %d", status)
		}
		a.JSON("DELETE", "/api/applications/"+m.id, nil, http.StatusNoContent, nil)
		if status, _ := m.call(t, good); status != http.StatusUnauthorized {
			t.Errorf("after the application was deleted: %d", status)
		}
	})
}

func TestARotatedOutKeysTokensWorkUntilTheyExpire(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, dbURL string) {
		clock := &frozenClock{now: time.Date(2031, 5, 6, 7, 8, 9, 0, time.UTC)}
		a := apptest.New(t, dbURL, apptest.WithNow(clock.Now))
		m := newM2M(t, a, clock.Now)
		oldKey, err := a.App.SigningKeys.Current(t.Context(), "default")
		if err != nil {
			t.Fatal(err)
		}
		old := m.sign(t, m.claims())
		a.JSON("POST", "/api/configs/oidc/private-keys/rotate", nil, 200, nil)
		fresh := m.sign(t, m.claims())
		for name, tok := range map[string]string{"old key": old, "new key": fresh} {
			if status, msg := m.call(t, tok); status != 200 {
				t.Errorf("%s just after the rotation: %d %s", name, status, msg)
			}
		}
		// Past the longest token lifetime the old key is no longer
		// published, so even a token it signed that is otherwise valid
		// now is refused.
		clock.Advance(apps.MaxAccessTokenTTL*time.Second + time.Second)
		var keys []privateKey
		a.JSON("GET", "/api/configs/oidc/private-keys", nil, 200, &keys)
		if len(keys) != 1 || keys[0].ID == oldKey.ID {
			t.Errorf("keys in force past the retention: %+v", keys)
		}
		if status, _ := m.call(t, signWith(t, jose.ES256, oldKey.Private, oldKey.ID, m.claims())); status != http.StatusUnauthorized {
			t.Errorf("a token of the retired key past the retention: %d", status)
		}
		if status, _ := m.call(t, m.sign(t, m.claims())); status != 200 {
			t.Errorf("a current-key token: %d", status)
		}
	})
}

// with copies c with key set to v (nil deletes it), and the same for the
// other keys named.
func with(c claims, key string, v any, more ...string) claims {
	out := claims{}
	for k, val := range c {
		out[k] = val
	}
	for _, k := range append([]string{key}, more...) {
		if v == nil {
			delete(out, k)
		} else {
			out[k] = v
		}
	}
	return out
}
