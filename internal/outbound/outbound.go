// Package outbound is authmail's outbound connection policy. Every
// connection a connector opens (SMTP, and the HTTP client every HTTP
// connector and provider SDK uses) goes through one guarded dialer, which
// checks the IP address it is about to connect to at connect time, after
// DNS resolution, so no DNS answer can get around it:
//
//   - link-local and cloud metadata addresses (169.254.0.0/16, fe80::/10,
//     169.254.169.254, fd00:ec2::254, 100.100.100.200, 168.63.129.16...)
//     and the unspecified addresses are always refused;
//   - authmail's own listen address is always refused;
//   - loopback and private ranges (127.0.0.0/8, ::1, 10.0.0.0/8,
//     172.16.0.0/12, 192.168.0.0/16, 100.64.0.0/10, fc00::/7) are refused
//     unless the operator allows them (Policy.AllowPrivate) or lists them
//     (Policy.Allow);
//   - the other special-purpose ranges (documentation, benchmarking,
//     multicast, reserved: code.dny.dev/ssrf's deny lists) are refused
//     unless listed;
//   - every other address (the internet) is allowed.
//
// A refusal is a *RefusedError that names the setting that would allow
// it; it matches connector.ErrInvalidConfig, so a send it stops fails for
// good instead of being retried.
package outbound

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"syscall"
	"time"

	"code.dny.dev/ssrf"

	"github.com/authmail/authmail/connector"
	"github.com/authmail/authmail/internal/config"
)

// Policy is what the operator allows beyond the internet.
type Policy struct {
	// AllowPrivate allows loopback and private addresses (PrivatePrefixes).
	AllowPrivate bool
	// Allow lists further prefixes connectors may connect to, even
	// loopback, private or special-purpose ones. Link-local and metadata
	// addresses stay refused.
	Allow []netip.Prefix
	// Listen are the host:port addresses authmail serves on, which are
	// never valid destinations. A host that is unspecified (":8080",
	// "0.0.0.0:8080", "[::]:8080") means that port on every local address.
	Listen []string
}

// AlwaysRefused are the prefixes no setting allows: link-local (where
// cloud metadata services live), the metadata services elsewhere, and
// the unspecified addresses, which reach the local host.
var AlwaysRefused = []netip.Prefix{
	netip.MustParsePrefix("169.254.0.0/16"),     // IPv4 link-local: AWS, GCP, Azure, DigitalOcean, Oracle metadata (169.254.169.254), ECS task metadata
	netip.MustParsePrefix("fe80::/10"),          // IPv6 link-local
	netip.MustParsePrefix("fd00:ec2::254/128"),  // AWS instance metadata over IPv6
	netip.MustParsePrefix("100.100.100.200/32"), // Alibaba Cloud (Aliyun) metadata
	netip.MustParsePrefix("168.63.129.16/32"),   // Azure WireServer
	netip.MustParsePrefix("192.0.0.192/32"),     // Oracle Cloud legacy metadata
	netip.MustParsePrefix("0.0.0.0/8"),          // "this network": 0.0.0.0 reaches the local host
	netip.MustParsePrefix("::/128"),             // IPv6 unspecified
}

// PrivatePrefixes are the loopback and private ranges AllowPrivate allows.
var PrivatePrefixes = []netip.Prefix{
	netip.MustParsePrefix("127.0.0.0/8"),
	netip.MustParsePrefix("::1/128"),
	netip.MustParsePrefix("10.0.0.0/8"),
	netip.MustParsePrefix("172.16.0.0/12"),
	netip.MustParsePrefix("192.168.0.0/16"),
	netip.MustParsePrefix("100.64.0.0/10"), // shared address space (carrier-grade NAT, overlay networks)
	netip.MustParsePrefix("fc00::/7"),      // IPv6 unique local
}

// Guard applies a Policy to connections. It is safe for concurrent use.
type Guard struct {
	ssrf       *ssrf.Guardian
	selfPorts  map[uint16][]netip.Addr // listen port -> its addresses
	selfAny    map[uint16]bool         // listen ports bound to every address
	localAddrs []netip.Addr            // this host's interface addresses
	dialer     *net.Dialer
	client     *http.Client
}

// New returns a guard for p. It fails when a listen address cannot be
// read or resolved.
func New(ctx context.Context, p Policy) (*Guard, error) {
	g := &Guard{selfPorts: map[uint16][]netip.Addr{}, selfAny: map[uint16]bool{}}
	var v4, v6 []netip.Prefix
	allowed := slices.Clone(p.Allow)
	if p.AllowPrivate {
		allowed = append(allowed, PrivatePrefixes...)
	}
	for _, pre := range allowed {
		pre = pre.Masked()
		if pre.Addr().Is4() {
			v4 = append(v4, pre)
		} else {
			v6 = append(v6, pre)
		}
	}
	g.ssrf = ssrf.New(ssrf.WithAnyPort(), ssrf.WithAllowedV4Prefixes(v4...), ssrf.WithAllowedV6Prefixes(v6...))
	for _, l := range p.Listen {
		if err := g.addListen(ctx, l); err != nil {
			return nil, err
		}
	}
	if len(g.selfAny) > 0 {
		addrs, _ := net.InterfaceAddrs()
		for _, a := range addrs {
			if pre, err := netip.ParsePrefix(a.String()); err == nil {
				g.localAddrs = append(g.localAddrs, pre.Addr().Unmap())
			}
		}
	}
	g.dialer = &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second, Control: g.control}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	// A proxy would make the guard see the proxy's address instead of
	// the destination's, so connectors connect directly.
	tr.Proxy = nil
	tr.DialContext = g.dialer.DialContext
	g.client = &http.Client{Transport: tr}
	return g, nil
}

// addListen records a listen address as one connectors never reach.
func (g *Guard) addListen(ctx context.Context, hostport string) error {
	host, portText, err := net.SplitHostPort(hostport)
	if err != nil {
		return fmt.Errorf("listen address %q: %w", hostport, err)
	}
	port, err := strconv.ParseUint(portText, 10, 16)
	if err != nil {
		return fmt.Errorf("listen address %q: the port is not a number", hostport)
	}
	p := uint16(port)
	var ips []netip.Addr
	if host == "" {
		ips = []netip.Addr{netip.IPv4Unspecified()}
	} else if ip, err := netip.ParseAddr(host); err == nil {
		ips = []netip.Addr{ip}
	} else if ips, err = net.DefaultResolver.LookupNetIP(ctx, "ip", host); err != nil {
		return fmt.Errorf("listen address %q: %w", hostport, err)
	}
	for _, ip := range ips {
		ip = ip.Unmap()
		if ip.IsUnspecified() {
			g.selfAny[p] = true
			continue
		}
		g.selfPorts[p] = append(g.selfPorts[p], ip)
	}
	return nil
}

// Dialer is the guarded dialer, for connectors that dial themselves (SMTP).
func (g *Guard) Dialer() *net.Dialer { return g.dialer }

// HTTPClient is the guarded HTTP client. It has no overall timeout and
// uses no proxy.
func (g *Guard) HTTPClient() *http.Client { return g.client }

// control is the dialer's net.Dialer.Control: it runs once the address is
// resolved, just before each connection attempt.
func (g *Guard) control(network, address string, c syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("outbound policy: %w", err)
	}
	return g.check(network, ap, c)
}

// Check returns a *RefusedError when the policy refuses TCP connections
// to ap, nil when it allows them.
func (g *Guard) Check(ap netip.AddrPort) error {
	network := "tcp6"
	if ap.Addr().Unmap().Is4() {
		network = "tcp4"
	}
	return g.check(network, ap, nil)
}

// check applies the policy: the addresses no setting allows first, then
// the ssrf guardian, which allows the internet and the prefixes the
// operator allowed and refuses every other special-purpose range.
func (g *Guard) check(network string, ap netip.AddrPort, c syscall.RawConn) error {
	ip := ap.Addr().Unmap()
	ap = netip.AddrPortFrom(ip, ap.Port())
	for _, pre := range AlwaysRefused {
		if pre.Contains(ip) {
			return &RefusedError{Addr: ap, Reason: "it is a link-local or cloud metadata address, which connectors never connect to"}
		}
	}
	if g.self(ap) {
		return &RefusedError{Addr: ap, Reason: "it is authmail's own listen address (--" + config.Addr + "), which connectors never connect to"}
	}
	err := g.ssrf.Safe(network, ap.String(), c)
	if err == nil {
		return nil
	}
	if !errors.Is(err, ssrf.ErrProhibitedIP) {
		return &RefusedError{Addr: ap, Reason: err.Error()}
	}
	// The flags are named; their AUTHMAIL_* variables follow from them.
	allowed := "only with --" + config.AllowPrivateEndpoints + " or when --" + config.AllowEndpoints + " lists it (or their AUTHMAIL_ variables)"
	switch {
	case ip.IsLoopback():
		return &RefusedError{Addr: ap, Setting: config.AllowPrivateEndpoints,
			Reason: "it is a loopback address; connectors may connect to it " + allowed}
	case isPrivate(ip):
		return &RefusedError{Addr: ap, Setting: config.AllowPrivateEndpoints,
			Reason: "it is a private address; connectors may connect to it " + allowed}
	default:
		return &RefusedError{Addr: ap, Setting: config.AllowEndpoints,
			Reason: "it is a special-purpose address (documentation, benchmarking, multicast or reserved); connectors may connect to it only when --" +
				config.AllowEndpoints + " (or its AUTHMAIL_ variable) lists it"}
	}
}

func isPrivate(ip netip.Addr) bool {
	for _, pre := range PrivatePrefixes {
		if pre.Contains(ip) {
			return true
		}
	}
	return false
}

// self reports whether ap is one of authmail's listen addresses.
func (g *Guard) self(ap netip.AddrPort) bool {
	ip, port := ap.Addr(), ap.Port()
	if slices.Contains(g.selfPorts[port], ip) {
		return true
	}
	return g.selfAny[port] && (ip.IsLoopback() || slices.Contains(g.localAddrs, ip))
}

// RefusedError is a connection the outbound policy refused. It matches
// connector.ErrInvalidConfig: the connector's config points somewhere it
// may not go, and only a change of config (or of the policy) fixes it.
type RefusedError struct {
	// Addr is the address the connection was for.
	Addr netip.AddrPort
	// Reason says why, and which setting would allow it.
	Reason string
	// Setting is the flag that would allow the address, "" when none does.
	Setting string
}

// Error names the address and the reason.
func (e *RefusedError) Error() string {
	return "outbound policy refuses " + e.Addr.String() + ": " + e.Reason
}

// Is matches connector.ErrInvalidConfig.
func (e *RefusedError) Is(target error) bool { return target == connector.ErrInvalidConfig }
