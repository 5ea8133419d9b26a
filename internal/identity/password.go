package identity

import (
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"

	"github.com/authmail/authmail/internal/keyring"
)

// Params are argon2id's cost parameters.
type Params struct {
	// Memory is in KiB.
	Memory uint32
	// Time is the number of passes.
	Time uint32
	// Threads is the parallelism.
	Threads uint8
	// SaltLen and KeyLen are in bytes.
	SaltLen, KeyLen uint32
}

// DefaultParams are OWASP's first recommended argon2id configuration
// (Password Storage Cheat Sheet): 19 MiB of memory, 2 passes, 1 thread,
// with a 16-byte salt and a 32-byte hash.
var DefaultParams = Params{Memory: 19 * 1024, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}

// Bounds on the parameters a stored digest may ask for, so that a
// tampered digest cannot make a check take unbounded memory or time.
const (
	maxMemory  = 1 << 18 // KiB: 256 MiB
	maxTime    = 64
	minSaltLen = 8
	minKeyLen  = 16
	maxKeyLen  = 128
)

// ErrMalformedDigest means a stored digest is not an argon2id PHC string
// this package can check.
var ErrMalformedDigest = errors.New("the password digest is not an argon2id PHC string")

var b64 = base64.RawStdEncoding

// Hash returns the argon2id digest of password with DefaultParams and a
// random salt, as a PHC string:
// $argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash> (unpadded base64).
func Hash(password string) string {
	return hashWith(DefaultParams, keyring.RandomBytes(int(DefaultParams.SaltLen)), password)
}

func hashWith(p Params, salt []byte, password string) string {
	key := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key))
}

// Verify reports whether password is the one digest was made from,
// comparing in constant time with the parameters the digest records. A
// digest that cannot be read (not argon2id, another version, parameters
// out of bounds, bad base64) is ErrMalformedDigest.
func Verify(digest, password string) (bool, error) {
	p, salt, key, err := decodeDigest(digest)
	if err != nil {
		return false, err
	}
	got := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	return subtle.ConstantTimeCompare(got, key) == 1, nil
}

// dummyDigest is a digest no password matches, at DefaultParams: checking
// a password against it costs what checking a real digest does, so that
// an account without a password, or no account, answers in the same time
// as a wrong password.
func dummyDigest() string {
	p := DefaultParams
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads,
		b64.EncodeToString(make([]byte, p.SaltLen)), b64.EncodeToString(make([]byte, p.KeyLen)))
}

// DigestParams returns the parameters a digest was made with, so that a
// digest made with weaker ones than DefaultParams can be renewed at the
// next sign-in.
func DigestParams(digest string) (Params, error) {
	p, _, _, err := decodeDigest(digest)
	return p, err
}

func decodeDigest(digest string) (Params, []byte, []byte, error) {
	parts := strings.Split(digest, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return Params{}, nil, nil, ErrMalformedDigest
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version || parts[2] != fmt.Sprintf("v=%d", version) {
		return Params{}, nil, nil, ErrMalformedDigest
	}
	var p Params
	var threads uint32
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &threads); err != nil ||
		parts[3] != fmt.Sprintf("m=%d,t=%d,p=%d", p.Memory, p.Time, threads) {
		return Params{}, nil, nil, ErrMalformedDigest
	}
	if p.Time < 1 || p.Time > maxTime || threads < 1 || threads > 255 || p.Memory < 8*threads || p.Memory > maxMemory {
		return Params{}, nil, nil, ErrMalformedDigest
	}
	p.Threads = uint8(threads)
	salt, err := b64.Strict().DecodeString(parts[4])
	if err != nil || len(salt) < minSaltLen {
		return Params{}, nil, nil, ErrMalformedDigest
	}
	key, err := b64.Strict().DecodeString(parts[5])
	if err != nil || len(key) < minKeyLen || len(key) > maxKeyLen {
		return Params{}, nil, nil, ErrMalformedDigest
	}
	p.SaltLen, p.KeyLen = uint32(len(salt)), uint32(len(key))
	return p, salt, key, nil
}
