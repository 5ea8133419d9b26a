package signingkeys_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/authmail/authmail/internal/keyring"
	"github.com/authmail/authmail/internal/signingkeys"
	"github.com/authmail/authmail/internal/store"
	"github.com/authmail/authmail/internal/store/storetest"
)

const tenant = "default"

// clock is a settable clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func testKeys(t *testing.T, secret string) *keyring.Keyring {
	t.Helper()
	k, err := keyring.New([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

const secret = "signing-keys-test-secret-0123456"

func run(t *testing.T, name string, fn func(t *testing.T, st *store.Store, c *clock, s *signingkeys.Service)) {
	t.Helper()
	t.Run(name, func(t *testing.T) {
		storetest.ForEach(t, func(t *testing.T, st *store.Store) {
			c := &clock{now: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)}
			fn(t, st, c, signingkeys.New(st, testKeys(t, secret), c.Now, time.Hour))
		})
	})
}

func kids(set jose.JSONWebKeySet) []string {
	var out []string
	for _, k := range set.Keys {
		out = append(out, k.KeyID)
	}
	return out
}

func TestSigningKeys(t *testing.T) {
	ctx := context.Background()

	run(t, "TheFirstUseMakesOneES256KeyThatLasts", func(t *testing.T, st *store.Store, c *clock, s *signingkeys.Service) {
		k, err := s.Current(ctx, tenant)
		if err != nil {
			t.Fatal(err)
		}
		pub, ok := k.Private.Public().(*ecdsa.PublicKey)
		if !ok || pub.Curve != elliptic.P256() || k.Algorithm != "ES256" || k.ID == "" {
			t.Fatalf("key %s %s %T", k.ID, k.Algorithm, k.Private.Public())
		}
		again, err := s.Current(ctx, tenant)
		if err != nil || again.ID != k.ID {
			t.Errorf("second Current: %s, %v; want %s", again.ID, err, k.ID)
		}
		// Another process with the same secret reads the same key.
		other, err := signingkeys.New(st, testKeys(t, secret), c.Now, 0).Current(ctx, tenant)
		if err != nil || other.ID != k.ID || !other.Private.Public().(*ecdsa.PublicKey).Equal(pub) {
			t.Errorf("another service: %s, %v", other.ID, err)
		}
		if o, err := s.Current(ctx, "other"); err != nil || o.ID == k.ID {
			t.Errorf("another tenant shares the key: %s, %v", o.ID, err)
		}
	})

	run(t, "ThePrivateKeyIsSealedAtRest", func(t *testing.T, st *store.Store, c *clock, s *signingkeys.Service) {
		k, err := s.Current(ctx, tenant)
		if err != nil {
			t.Fatal(err)
		}
		row, err := st.SigningKeyCurrent(ctx, tenant)
		if err != nil {
			t.Fatal(err)
		}
		jwk := jose.JSONWebKey{Key: k.Private}
		raw, _ := jwk.MarshalJSON()
		d := string(raw[strings.Index(string(raw), `"d":"`)+5:])
		d = d[:strings.Index(d, `"`)]
		if !strings.HasPrefix(row.PrivateKey, "v1:") || strings.Contains(row.PrivateKey, d) || strings.Contains(row.PrivateKey, "PRIVATE KEY") {
			t.Errorf("the stored key is not sealed: %.40s...", row.PrivateKey)
		}
		if _, err := signingkeys.New(st, testKeys(t, "another-secret-key-0123456789abc"), c.Now, 0).Current(ctx, tenant); err == nil {
			t.Error("a service with another secret opened the key")
		}
	})

	run(t, "ConcurrentFirstUsesAgreeOnOneKey", func(t *testing.T, st *store.Store, c *clock, _ *signingkeys.Service) {
		const n = 8
		ids := make([]string, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			// Separate services, as separate processes would be.
			s := signingkeys.New(st, testKeys(t, secret), c.Now, 0)
			wg.Go(func() {
				<-start
				k, err := s.Current(ctx, tenant)
				ids[i], errs[i] = k.ID, err
			})
		}
		close(start)
		wg.Wait()
		for i := range n {
			if errs[i] != nil || ids[i] != ids[0] {
				t.Errorf("call %d: %s, %v; want %s", i, ids[i], errs[i], ids[0])
			}
		}
		set, err := signingkeys.New(st, testKeys(t, secret), c.Now, 0).Published(ctx, tenant)
		if err != nil || !slices.Equal(kids(set), []string{ids[0]}) {
			t.Errorf("published after the race: %v, %v", kids(set), err)
		}
	})

	run(t, "ARotatedKeyStaysPublishedUntilItsTokensExpire", func(t *testing.T, st *store.Store, c *clock, s *signingkeys.Service) {
		first, err := s.Current(ctx, tenant)
		if err != nil {
			t.Fatal(err)
		}
		c.Add(time.Minute)
		second, err := s.Rotate(ctx, tenant)
		if err != nil {
			t.Fatal(err)
		}
		if cur, err := s.Current(ctx, tenant); err != nil || cur.ID != second.ID || cur.ID == first.ID {
			t.Fatalf("current after rotation: %s, %v; want %s", cur.ID, err, second.ID)
		}
		set, err := s.Published(ctx, tenant)
		if err != nil || !slices.Equal(kids(set), []string{second.ID, first.ID}) {
			t.Errorf("published just after rotation: %v, %v", kids(set), err)
		}
		info, err := s.InForce(ctx, tenant)
		if err != nil || len(info) != 2 || !info[0].RetiredAt.IsZero() || !info[1].RetiredAt.Equal(c.Now()) {
			t.Errorf("in force: %+v, %v", info, err)
		}
		c.Add(time.Hour - time.Second)
		if set, _ := s.Published(ctx, tenant); !slices.Equal(kids(set), []string{second.ID, first.ID}) {
			t.Errorf("published a second before the old key's tokens expire: %v", kids(set))
		}
		c.Add(2 * time.Second)
		if set, _ := s.Published(ctx, tenant); !slices.Equal(kids(set), []string{second.ID}) {
			t.Errorf("published once they expired: %v", kids(set))
		}
	})

	run(t, "PublishedKeysVerifyWhatTheKeySigns", func(t *testing.T, st *store.Store, c *clock, s *signingkeys.Service) {
		k, err := s.Current(ctx, tenant)
		if err != nil {
			t.Fatal(err)
		}
		signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: k.Private, KeyID: k.ID}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		obj, err := signer.Sign([]byte(`{"sub":"x"}`))
		if err != nil {
			t.Fatal(err)
		}
		compact, _ := obj.CompactSerialize()
		parsed, err := jose.ParseSigned(compact, []jose.SignatureAlgorithm{jose.ES256})
		if err != nil {
			t.Fatal(err)
		}
		set, err := s.Published(ctx, tenant)
		if err != nil {
			t.Fatal(err)
		}
		keys := set.Key(parsed.Signatures[0].Header.KeyID)
		if len(keys) != 1 || keys[0].Algorithm != "ES256" || keys[0].Use != "sig" || !keys[0].IsPublic() {
			t.Fatalf("the published key: %+v", keys)
		}
		if payload, err := parsed.Verify(keys[0]); err != nil || string(payload) != `{"sub":"x"}` {
			t.Errorf("verify: %s, %v", payload, err)
		}
	})

	run(t, "PublishedMakesTheFirstKeyAndRotateWorksOnAFreshTenant", func(t *testing.T, st *store.Store, c *clock, s *signingkeys.Service) {
		set, err := s.Published(ctx, tenant)
		if err != nil || len(set.Keys) != 1 {
			t.Fatalf("published on a fresh tenant: %v, %v", kids(set), err)
		}
		k, err := s.Rotate(ctx, "fresh")
		if err != nil {
			t.Fatal(err)
		}
		if cur, err := s.Current(ctx, "fresh"); err != nil || cur.ID != k.ID {
			t.Errorf("current after rotating a fresh tenant: %s, %v; want %s", cur.ID, err, k.ID)
		}
	})
}
