package outbound_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/authmail/authmail/connector"
	"github.com/authmail/authmail/internal/outbound"
)

func guard(t *testing.T, p outbound.Policy) *outbound.Guard {
	t.Helper()
	g, err := outbound.New(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

var everything = []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0"), netip.MustParsePrefix("::/0")}

// TestPolicyDecidesByAddress: link-local, metadata and unspecified
// addresses are refused whatever the operator allows; loopback and
// private ones only with AllowPrivate or a listed prefix; other
// special-purpose ranges only when listed; the internet always; and each
// refusal names the setting that would allow it, or says none does.
func TestPolicyDecidesByAddress(t *testing.T) {
	strict := guard(t, outbound.Policy{})
	private := guard(t, outbound.Policy{AllowPrivate: true})
	listed := guard(t, outbound.Policy{Allow: []netip.Prefix{netip.MustParsePrefix("10.1.0.0/16"), netip.MustParsePrefix("192.0.2.7/32")}})
	all := guard(t, outbound.Policy{AllowPrivate: true, Allow: everything})
	for _, tc := range []struct {
		addr                          string
		strict, private, listed, open bool
		setting                       string // named in the strict refusal
	}{
		{"169.254.169.254", false, false, false, false, ""},
		{"169.254.170.2", false, false, false, false, ""},
		{"fd00:ec2::254", false, false, false, false, ""},
		{"100.100.100.200", false, false, false, false, ""},
		{"168.63.129.16", false, false, false, false, ""},
		{"fe80::1", false, false, false, false, ""},
		{"::ffff:169.254.169.254", false, false, false, false, ""},
		{"0.0.0.0", false, false, false, false, ""},
		{"::", false, false, false, false, ""},
		{"127.0.0.1", false, true, false, true, "allow-private-endpoints"},
		{"::1", false, true, false, true, "allow-private-endpoints"},
		{"::ffff:127.0.0.1", false, true, false, true, "allow-private-endpoints"},
		{"10.1.2.3", false, true, true, true, "allow-private-endpoints"},
		{"10.2.0.1", false, true, false, true, "allow-private-endpoints"},
		{"172.16.5.5", false, true, false, true, "allow-private-endpoints"},
		{"192.168.1.1", false, true, false, true, "allow-private-endpoints"},
		{"100.64.0.9", false, true, false, true, "allow-private-endpoints"},
		{"fd12:3456::1", false, true, false, true, "allow-private-endpoints"},
		{"192.0.2.7", false, false, true, true, "allow-endpoints"},
		{"198.18.0.1", false, false, false, true, "allow-endpoints"},
		{"93.184.215.14", true, true, true, true, ""},
		{"2606:4700::1111", true, true, true, true, ""},
	} {
		ap := netip.AddrPortFrom(netip.MustParseAddr(tc.addr), 443)
		for _, g := range []struct {
			name  string
			guard *outbound.Guard
			want  bool
		}{{"strict", strict, tc.strict}, {"private allowed", private, tc.private}, {"listed", listed, tc.listed}, {"everything allowed", all, tc.open}} {
			err := g.guard.Check(ap)
			if (err == nil) != g.want {
				t.Errorf("%s, %s: Check = %v, want allowed %v", tc.addr, g.name, err, g.want)
			}
			if err != nil && !errors.Is(err, connector.ErrInvalidConfig) {
				t.Errorf("%s, %s: %v does not match connector.ErrInvalidConfig", tc.addr, g.name, err)
			}
		}
		err := strict.Check(ap)
		var re *outbound.RefusedError
		if err == nil || !errors.As(err, &re) {
			continue
		}
		if re.Setting != tc.setting {
			t.Errorf("%s: refusal names setting %q, want %q (%v)", tc.addr, re.Setting, tc.setting, err)
		}
		if tc.setting != "" && !strings.Contains(err.Error(), "--"+tc.setting) {
			t.Errorf("%s: %q does not name --%s", tc.addr, err, tc.setting)
		}
		if tc.setting == "" && !strings.Contains(err.Error(), "never") {
			t.Errorf("%s: %q does not say that no setting allows it", tc.addr, err)
		}
	}
}

// TestOwnListenAddressIsRefused: the address authmail serves on is
// refused even when everything else is allowed; the same port on another
// address is not; an unspecified listen host covers the port on every
// local address.
func TestOwnListenAddressIsRefused(t *testing.T) {
	g := guard(t, outbound.Policy{AllowPrivate: true, Allow: everything, Listen: []string{"127.0.0.1:8080", "localhost:9090"}})
	for _, tc := range []struct {
		addr    string
		refused bool
	}{
		{"127.0.0.1:8080", true}, {"127.0.0.1:8081", false}, {"127.0.0.2:8080", false},
		{"127.0.0.1:9090", true}, {"[::ffff:127.0.0.1]:8080", true},
	} {
		err := g.Check(netip.MustParseAddrPort(tc.addr))
		if (err != nil) != tc.refused {
			t.Errorf("%s: Check = %v, want refused %v", tc.addr, err, tc.refused)
		}
		if err != nil && !strings.Contains(err.Error(), "own listen address (--addr)") {
			t.Errorf("%s: %q does not say it is authmail's own address", tc.addr, err)
		}
	}
	any := guard(t, outbound.Policy{AllowPrivate: true, Listen: []string{":8080"}})
	for _, addr := range []string{"127.0.0.1:8080", "[::1]:8080", "127.0.0.53:8080"} {
		if err := any.Check(netip.MustParseAddrPort(addr)); err == nil {
			t.Errorf("listening on :8080, %s is allowed", addr)
		}
	}
	if err := any.Check(netip.MustParseAddrPort("127.0.0.1:8081")); err != nil {
		t.Errorf("listening on :8080, port 8081 is refused: %v", err)
	}
	if _, err := outbound.New(context.Background(), outbound.Policy{Listen: []string{"no-port"}}); err == nil {
		t.Error("a listen address without a port was accepted")
	}
}

// TestRefusedAtConnectTime: the guarded client and dialer refuse a
// loopback server reached by IP or by a name that resolves to loopback,
// before a byte is sent, and reach it once loopback is allowed.
func TestRefusedAtConnectTime(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		_, _ = io.WriteString(w, "inside")
	}))
	t.Cleanup(srv.Close)
	port := srv.Listener.Addr().(*net.TCPAddr).Port
	byName := "http://localhost:" + strconv.Itoa(port) + "/"
	strict := guard(t, outbound.Policy{})
	for _, u := range []string{srv.URL, byName} {
		resp, err := strict.HTTPClient().Get(u)
		if err == nil {
			resp.Body.Close()
			t.Fatalf("GET %s went through", u)
		}
		var re *outbound.RefusedError
		if !errors.As(err, &re) || !errors.Is(err, connector.ErrInvalidConfig) || !re.Addr.Addr().IsLoopback() {
			t.Errorf("GET %s: %v, want a refusal of the loopback address", u, err)
		}
	}
	if _, err := strict.Dialer().DialContext(context.Background(), "tcp", srv.Listener.Addr().String()); err == nil {
		t.Error("the dialer reached loopback")
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("the server was reached %d times", n)
	}
	open := guard(t, outbound.Policy{AllowPrivate: true})
	resp, err := open.HTTPClient().Get(byName)
	if err != nil {
		t.Fatalf("GET %s with private allowed: %v", byName, err)
	}
	resp.Body.Close()
	if n := hits.Load(); n != 1 {
		t.Errorf("server hits = %d, want 1", n)
	}
}
