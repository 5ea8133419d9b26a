package identity

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
)

func TestHashIsAnArgon2idPHCStringThatVerifies(t *testing.T) {
	d := Hash("correct horse battery")
	if !strings.HasPrefix(d, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("digest %q does not start with the OWASP parameters", d)
	}
	ok, err := Verify(d, "correct horse battery")
	if err != nil || !ok {
		t.Fatalf("Verify(the right password) = %v, %v; want true", ok, err)
	}
	if Hash("correct horse battery") == d {
		t.Error("two digests of one password are equal: the salt is not random")
	}
}

func TestVerifyRefusesAWrongPassword(t *testing.T) {
	d := Hash("correct horse battery")
	for _, pw := range []string{"correct horse batterY", "", "correct horse battery "} {
		if ok, err := Verify(d, pw); err != nil || ok {
			t.Errorf("Verify(%q) = %v, %v; want false", pw, ok, err)
		}
	}
}

func TestVerifyRefusesATamperedDigest(t *testing.T) {
	const pw = "correct horse battery"
	d := Hash(pw)
	parts := strings.Split(d, "$")
	flip := func(s string) string {
		b, _ := base64.RawStdEncoding.DecodeString(s)
		b[0] ^= 1
		return base64.RawStdEncoding.EncodeToString(b)
	}
	join := func(i int, v string) string {
		p := append([]string(nil), parts...)
		p[i] = v
		return strings.Join(p, "$")
	}
	// Still readable, but no longer the digest of pw.
	for name, tampered := range map[string]string{
		"hash":   join(5, flip(parts[5])),
		"salt":   join(4, flip(parts[4])),
		"params": join(3, "m=19456,t=3,p=1"),
	} {
		if ok, err := Verify(tampered, pw); err != nil || ok {
			t.Errorf("%s changed: Verify = %v, %v; want false", name, ok, err)
		}
	}
	// Not readable at all.
	for name, bad := range map[string]string{
		"empty":           "",
		"argon2i":         strings.Replace(d, "$argon2id$", "$argon2i$", 1),
		"version":         join(2, "v=16"),
		"huge memory":     join(3, "m=4294967295,t=2,p=1"),
		"zero passes":     join(3, "m=19456,t=0,p=1"),
		"extra in params": join(3, "m=19456,t=2,p=1,x=1"),
		"bad base64":      join(5, parts[5]+"!"),
		"short hash":      join(5, base64.RawStdEncoding.EncodeToString([]byte("short"))),
		"missing part":    strings.Join(parts[:5], "$"),
	} {
		if ok, err := Verify(bad, pw); !errors.Is(err, ErrMalformedDigest) || ok {
			t.Errorf("%s: Verify = %v, %v; want ErrMalformedDigest", name, ok, err)
		}
	}
}

func TestDigestRecordsItsParameters(t *testing.T) {
	p := Params{Memory: 8 * 1024, Time: 3, Threads: 2, SaltLen: 24, KeyLen: 48}
	d := hashWith(p, []byte("0123456789abcdefghijklmn"), "correct horse battery")
	got, err := DigestParams(d)
	if err != nil || got != p {
		t.Fatalf("DigestParams = %+v, %v; want %+v", got, err, p)
	}
	if ok, err := Verify(d, "correct horse battery"); err != nil || !ok {
		t.Fatalf("a digest made with other parameters: Verify = %v, %v; want true", ok, err)
	}
	if got, err := DigestParams(Hash("x")); err != nil || got != DefaultParams {
		t.Fatalf("DigestParams(Hash) = %+v, %v; want DefaultParams", got, err)
	}
}
