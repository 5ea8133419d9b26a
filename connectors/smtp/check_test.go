package smtp

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/authmail/authmail/connector"
	"github.com/authmail/authmail/internal/testwait"
)

func check(c *sender) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return c.Check(ctx)
}

// TestCheckAuthenticatesAndQuitsWithoutMail: a check runs the dialogue up
// to AUTH over STARTTLS, issues no MAIL, and leaves no connection open.
func TestCheckAuthenticatesAndQuitsWithoutMail(t *testing.T) {
	s := newTestServer(t, serverOpts{user: testUser, pass: testPass})
	c := build(t, s.Config(), nil)
	if err := check(c); err != nil {
		t.Fatalf("Check: %v", err)
	}
	if n := s.AuthTries(); n != 1 {
		t.Errorf("server saw %d AUTH commands, want 1", n)
	}
	if n := s.Mails(); n != 0 {
		t.Errorf("server saw %d MAIL commands; a check sends none", n)
	}
	testwait.Until(t, 5*time.Second, func() bool { now, _ := s.Open(); return now == 0 }, "the checked connection is still open")
	if n := c.pool.idleCount(); n != 0 {
		t.Errorf("the checked connection went to the pool (%d idle)", n)
	}
}

// TestCheckOfAClosedPortIsTemporaryAndSaysWhere: nothing listening is a
// temporary failure whose text names the address and the refusal.
func TestCheckOfAClosedPortIsTemporaryAndSaysWhere(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().(*net.TCPAddr)
	_ = ln.Close()
	c := build(t, cfgJSON(`"host": "127.0.0.1", "port": `+strconv.Itoa(addr.Port)+`, "fromEmail": "a@acme.test"`), nil)
	err = check(c)
	if !errors.Is(err, connector.ErrTemporary) {
		t.Fatalf("Check of a closed port = %v, want ErrTemporary", err)
	}
	if !strings.Contains(err.Error(), addr.String()) || !strings.Contains(err.Error(), "refused") {
		t.Errorf("error %q does not name %s and the refusal", err, addr)
	}
}

// TestCheckNamesTheTLSSettingAtFault: a server without STARTTLS under
// requireTLS fails the check as a config error naming requireTLS, before
// any credential is sent.
func TestCheckNamesTheTLSSettingAtFault(t *testing.T) {
	s := newTestServer(t, serverOpts{noStartTLS: true, user: testUser, pass: testPass})
	c := build(t, merge(t, s.Config(), map[string]any{"requireTLS": true}), nil)
	if f := configField(t, check(c)); f != "requireTLS" {
		t.Errorf("field = %q, want requireTLS", f)
	}
	if n := s.AuthTries(); n != 0 {
		t.Errorf("server saw %d AUTH attempts", n)
	}
}

// TestCheckOfAWrongPasswordIsErrAuthWithoutIt: the server's 535 is ErrAuth
// and the error does not carry the password.
func TestCheckOfAWrongPasswordIsErrAuthWithoutIt(t *testing.T) {
	s := newTestServer(t, serverOpts{user: testUser, pass: testPass})
	const wrong = "not-the-Pa55word"
	c := build(t, merge(t, s.Config(), map[string]any{"auth": map[string]any{"user": testUser, "pass": wrong}}), nil)
	err := check(c)
	if !errors.Is(err, connector.ErrAuth) {
		t.Fatalf("Check with a wrong password = %v, want ErrAuth", err)
	}
	if strings.Contains(err.Error(), wrong) {
		t.Errorf("error %q carries the password", err)
	}
}
