// Package signingkeys keeps each tenant's token signing keys: ES256
// (ECDSA on P-256) keys, generated on first use, stored as PKCS #8 sealed
// with the server secret, and rotated with the old key still published
// until every token it signed has expired.
package signingkeys

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base32"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/authmail/authmail/internal/keyring"
	"github.com/authmail/authmail/internal/store"
)

// Algorithm is the JOSE algorithm every key signs with.
const Algorithm = string(jose.ES256)

// DefaultRetain is how long a rotated-out key stays published when New is
// given no longer lifetime: the default lifetime of access and ID tokens.
const DefaultRetain = time.Hour

// Key is a signing key with its private part.
type Key struct {
	ID, Algorithm string
	Private       crypto.Signer
	CreatedAt     time.Time
}

// JWK is the key's public part as a JSON Web Key (kid, alg, use "sig").
func (k Key) JWK() jose.JSONWebKey {
	return jose.JSONWebKey{Key: k.Private.Public(), KeyID: k.ID, Algorithm: k.Algorithm, Use: "sig"}
}

// Info describes a key without its private part. RetiredAt is zero for
// the current key.
type Info struct {
	ID, Algorithm        string
	CreatedAt, RetiredAt time.Time
}

// Service generates, reads and rotates signing keys.
type Service struct {
	st     *store.Store
	keys   *keyring.Keyring
	now    func() time.Time
	retain time.Duration

	// opened holds the parsed private keys by tenant and ID: a key never
	// changes, so it is opened once per process.
	mu     sync.Mutex
	opened map[string]*ecdsa.PrivateKey
}

// New returns the service over st; keys seals the private keys. retain is
// the longest lifetime of a token a key signs (access and ID tokens): a
// rotated-out key stays published that long. 0 means DefaultRetain.
func New(st *store.Store, keys *keyring.Keyring, now func() time.Time, retain time.Duration) *Service {
	if retain <= 0 {
		retain = DefaultRetain
	}
	return &Service{st: st, keys: keys, now: now, retain: retain, opened: map[string]*ecdsa.PrivateKey{}}
}

// Current returns the tenant's current key, generating one if there is
// none. Of concurrent first calls, one key is stored and all of them
// return it.
func (s *Service) Current(ctx context.Context, tenant string) (Key, error) {
	row, err := s.st.SigningKeyCurrent(ctx, tenant)
	if errors.Is(err, store.ErrNotFound) {
		fresh, sealed, ferr := s.generate(tenant)
		if ferr != nil {
			return Key{}, ferr
		}
		w := s.st.WriteQ()
		if _, err := w.SigningKeyInsertCurrent(ctx, sealed); err != nil {
			return Key{}, err
		}
		if row, err = w.SigningKeyCurrent(ctx, tenant); err == nil && row.ID == fresh.ID {
			return fresh, nil
		}
	}
	if err != nil {
		return Key{}, err
	}
	return s.open(row)
}

// Rotate makes a new key current and retires the old one, which stays
// published for the retain time given to New.
func (s *Service) Rotate(ctx context.Context, tenant string) (Key, error) {
	fresh, sealed, err := s.generate(tenant)
	if err != nil {
		return Key{}, err
	}
	err = s.st.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.LockKey(ctx, "signing-keys:"+tenant); err != nil {
			return err
		}
		// A first key stored by Current after the retirement, on
		// PostgreSQL, takes the place; retire that one too and retry.
		for range 3 {
			if _, err := tx.SigningKeyRetire(ctx, tenant, s.now()); err != nil {
				return err
			}
			ok, err := tx.SigningKeyInsertCurrent(ctx, sealed)
			if err != nil || ok {
				return err
			}
		}
		return fmt.Errorf("rotating the signing key of %s: another key kept taking its place", tenant)
	})
	if err != nil {
		return Key{}, err
	}
	return fresh, nil
}

// InForce describes the tenant's published keys (generating the first if
// there is none): the current one first, then the rotated-out ones still
// published, the most recently retired first.
func (s *Service) InForce(ctx context.Context, tenant string) ([]Info, error) {
	rows, err := s.inForce(ctx, tenant)
	if err != nil {
		return nil, err
	}
	out := make([]Info, 0, len(rows))
	for _, r := range rows {
		out = append(out, Info{ID: r.ID, Algorithm: r.Algorithm, CreatedAt: r.CreatedAt, RetiredAt: r.RetiredAt})
	}
	return out, nil
}

// Published returns the public keys that verify the tenant's tokens: the
// current key and every rotated-out key retired less than the retain
// time ago.
func (s *Service) Published(ctx context.Context, tenant string) (jose.JSONWebKeySet, error) {
	rows, err := s.inForce(ctx, tenant)
	if err != nil {
		return jose.JSONWebKeySet{}, err
	}
	set := jose.JSONWebKeySet{Keys: make([]jose.JSONWebKey, 0, len(rows))}
	for _, r := range rows {
		k, err := s.open(r)
		if err != nil {
			return jose.JSONWebKeySet{}, err
		}
		set.Keys = append(set.Keys, k.JWK())
	}
	return set, nil
}

// inForce reads the published keys' rows, making the first key when there
// is no current one.
func (s *Service) inForce(ctx context.Context, tenant string) ([]store.SigningKey, error) {
	since := s.now().Add(-s.retain)
	rows, err := s.st.SigningKeysInForce(ctx, tenant, since)
	if err != nil {
		return nil, err
	}
	if len(rows) > 0 && rows[0].RetiredAt.IsZero() {
		return rows, nil
	}
	if _, err := s.Current(ctx, tenant); err != nil {
		return nil, err
	}
	return s.st.WriteQ().SigningKeysInForce(ctx, tenant, since)
}

// generate makes a key and its sealed row.
func (s *Service) generate(tenant string) (Key, store.SigningKey, error) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return Key{}, store.SigningKey{}, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return Key{}, store.SigningKey{}, err
	}
	id := strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(keyring.RandomBytes(10)))
	now := s.now()
	row := store.SigningKey{TenantID: tenant, ID: id, Algorithm: Algorithm, PrivateKey: s.keys.Seal(der, aad(tenant, id)), CreatedAt: now}
	s.remember(tenant, id, priv)
	return Key{ID: id, Algorithm: Algorithm, Private: priv, CreatedAt: now}, row, nil
}

// aad binds a sealed key to its row.
func aad(tenant, id string) string { return "signing-key:" + tenant + ":" + id }

func (s *Service) remember(tenant, id string, priv *ecdsa.PrivateKey) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.opened[tenant+"\x00"+id] = priv
}

// open unseals and parses a stored key, once per process.
func (s *Service) open(row store.SigningKey) (Key, error) {
	s.mu.Lock()
	priv, ok := s.opened[row.TenantID+"\x00"+row.ID]
	s.mu.Unlock()
	if !ok {
		der, err := s.keys.Open(row.PrivateKey, aad(row.TenantID, row.ID))
		if err != nil {
			return Key{}, fmt.Errorf("signing key %s: %w", row.ID, err)
		}
		parsed, err := x509.ParsePKCS8PrivateKey(der)
		if err != nil {
			return Key{}, fmt.Errorf("signing key %s: %w", row.ID, err)
		}
		if priv, ok = parsed.(*ecdsa.PrivateKey); !ok || row.Algorithm != Algorithm {
			return Key{}, fmt.Errorf("signing key %s: not an %s key", row.ID, Algorithm)
		}
		s.remember(row.TenantID, row.ID, priv)
	}
	return Key{ID: row.ID, Algorithm: row.Algorithm, Private: priv, CreatedAt: row.CreatedAt}, nil
}
