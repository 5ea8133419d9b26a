package keyring

import (
	"strings"
	"testing"
)

func TestSealOpen(t *testing.T) {
	k, err := New(RandomBytes(KeySize))
	if err != nil {
		t.Fatal(err)
	}
	s := k.Seal([]byte("hunter2"), "row-1")
	if strings.Contains(s, "hunter2") {
		t.Fatal("sealed value shows the plaintext")
	}
	got, err := k.Open(s, "row-1")
	if err != nil || string(got) != "hunter2" {
		t.Fatalf("Open = %q, %v", got, err)
	}
	if _, err := k.Open(s, "row-2"); err != ErrOpen {
		t.Fatalf("Open with another row's aad: %v, want ErrOpen", err)
	}
	other, _ := New(RandomBytes(KeySize))
	if _, err := other.Open(s, "row-1"); err != ErrOpen {
		t.Fatalf("Open with another key: %v, want ErrOpen", err)
	}
	if s == k.Seal([]byte("hunter2"), "row-1") {
		t.Fatal("two seals of the same value are equal: the nonce is not random")
	}
}

func TestCodeHash(t *testing.T) {
	k, _ := New(RandomBytes(KeySize))
	h := k.CodeHash("default", "a@example.com", "SignIn", "123456")
	if !k.CodeEqual(h, "default", "a@example.com", "SignIn", "123456") {
		t.Fatal("hash does not match its own code")
	}
	for _, c := range [][4]string{
		{"default", "a@example.com", "SignIn", "123457"},
		{"default", "b@example.com", "SignIn", "123456"},
		{"default", "a@example.com", "Register", "123456"},
		{"other", "a@example.com", "SignIn", "123456"},
	} {
		if k.CodeEqual(h, c[0], c[1], c[2], c[3]) {
			t.Errorf("hash matches %v", c)
		}
	}
	other, _ := New(RandomBytes(KeySize))
	if other.CodeHash("default", "a@example.com", "SignIn", "123456") == h {
		t.Fatal("code hash does not depend on the server key")
	}
}

func TestParseKey(t *testing.T) {
	hexKey := NewKey()
	if b, err := ParseKey(hexKey); err != nil || len(b) != KeySize {
		t.Fatalf("ParseKey(hex) = %v, %v", b, err)
	}
	if _, err := ParseKey("short"); err == nil {
		t.Fatal("short key accepted")
	}
}

func TestAdminKey(t *testing.T) {
	h := HashAdminKey("am_secret")
	if !AdminKeyEqual(h, "am_secret") || AdminKeyEqual(h, "am_secreu") {
		t.Fatal("admin key comparison is wrong")
	}
}
