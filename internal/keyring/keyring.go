// Package keyring holds the server's secret key and what is derived from
// it: sealing of secrets at rest (AES-256-GCM), the keyed hash of
// verification codes (HMAC-SHA256) and of rate-limit identifiers.
package keyring

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
)

// KeySize is the length of the secret key in bytes.
const KeySize = 32

// sealPrefix marks sealed values, with a version for key rotation later.
const sealPrefix = "v1:"

// ErrOpen means a sealed value could not be opened: it was sealed with
// another key or tampered with.
var ErrOpen = errors.New("cannot open sealed value: wrong secret key or corrupted data")

// Keyring derives purpose-specific keys from one secret key.
type Keyring struct {
	aead    cipher.AEAD
	codeKey []byte
	idKey   []byte
}

// LogValue keeps key material out of logs.
func (k *Keyring) LogValue() slog.Value { return slog.StringValue("[keyring]") }

// New builds a keyring from a 32-byte secret key.
func New(secret []byte) (*Keyring, error) {
	if len(secret) != KeySize {
		return nil, fmt.Errorf("secret key must be %d bytes, got %d", KeySize, len(secret))
	}
	derive := func(purpose string) []byte {
		k, err := hkdf.Key(sha256.New, secret, nil, "authmail "+purpose, KeySize)
		if err != nil {
			panic(err) // only for lengths HKDF cannot produce
		}
		return k
	}
	block, err := aes.NewCipher(derive("seal"))
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Keyring{aead: aead, codeKey: derive("code"), idKey: derive("identifier")}, nil
}

// ParseKey reads a secret key given as 64 hex digits or base64 of 32 bytes.
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if b, err := hex.DecodeString(s); err == nil && len(b) == KeySize {
		return b, nil
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil && len(b) == KeySize {
			return b, nil
		}
	}
	return nil, fmt.Errorf("secret key must be %d bytes as 64 hex digits or base64", KeySize)
}

// NewKey returns a fresh random key, hex encoded.
func NewKey() string {
	return hex.EncodeToString(RandomBytes(KeySize))
}

// RandomBytes returns n random bytes.
func RandomBytes(n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return b
}

// Seal encrypts plaintext; aad binds it to its place (a row ID) so a
// sealed value cannot be moved to another row.
func (k *Keyring) Seal(plaintext []byte, aad string) string {
	nonce := RandomBytes(k.aead.NonceSize())
	out := k.aead.Seal(nonce, nonce, plaintext, []byte(aad))
	return sealPrefix + base64.RawStdEncoding.EncodeToString(out)
}

// Open decrypts a value made by Seal with the same aad.
func (k *Keyring) Open(sealed, aad string) ([]byte, error) {
	raw, ok := strings.CutPrefix(sealed, sealPrefix)
	if !ok {
		return nil, ErrOpen
	}
	b, err := base64.RawStdEncoding.DecodeString(raw)
	if err != nil || len(b) < k.aead.NonceSize() {
		return nil, ErrOpen
	}
	n := k.aead.NonceSize()
	out, err := k.aead.Open(nil, b[:n], b[n:], []byte(aad))
	if err != nil {
		return nil, ErrOpen
	}
	return out, nil
}

// CodeHash is HMAC-SHA256(code key, tenant | email | usage | code), hex.
func (k *Keyring) CodeHash(tenant, email, usage, code string) string {
	return k.mac(k.codeKey, tenant, email, usage, code)
}

// CodeEqual compares a stored code hash with the hash of a candidate in
// constant time.
func (k *Keyring) CodeEqual(stored, tenant, email, usage, code string) bool {
	return hmac.Equal([]byte(stored), []byte(k.CodeHash(tenant, email, usage, code)))
}

// IdentifierHash keys rate limits and lockouts without storing addresses,
// and stores bearer IDs (verification records) only as hashes. The purpose
// separates the uses.
func (k *Keyring) IdentifierHash(tenant, purpose, identifier string) string {
	return k.mac(k.idKey, tenant, purpose, identifier)
}

func (k *Keyring) mac(key []byte, parts ...string) string {
	h := hmac.New(sha256.New, key)
	for _, p := range parts {
		// Length-prefix each part so "a|b" and "a" + "|b" differ.
		fmt.Fprintf(h, "%d:%s|", len(p), p)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// HashAdminKey returns the SHA-256 of an admin key, hex. Admin keys are
// 32 random bytes, so a fast hash is enough.
func HashAdminKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// AdminKeyEqual checks a presented admin key against a stored hash in
// constant time.
func AdminKeyEqual(storedHash, presented string) bool {
	return hmac.Equal([]byte(storedHash), []byte(HashAdminKey(presented)))
}
