package dnscheck

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// ResolverEnv names the environment variable that sets the nameserver
// (HOST:PORT) the command line and the HTTP API's DNS check ask, instead
// of the system's.
const ResolverEnv = "AUTHMAIL_DNS_RESOLVER"

// DefaultTimeout bounds one DNS query when NewResolver is given none.
const DefaultTimeout = 5 * time.Second

// ResolvConf is where NewResolver finds the system's nameserver.
const ResolvConf = "/etc/resolv.conf"

// Lookup outcomes. A LookupError matches exactly one of them with errors.Is.
var (
	// ErrNXDomain means the name does not exist.
	ErrNXDomain = errors.New("dnscheck: no such domain")
	// ErrNoRecords means the name exists but has no record of that type.
	ErrNoRecords = errors.New("dnscheck: no records of that type")
	// ErrTimeout means the server did not answer in time.
	ErrTimeout = errors.New("dnscheck: timed out")
	// ErrServFail means the server answered with an error (SERVFAIL,
	// REFUSED, ...) or the exchange failed.
	ErrServFail = errors.New("dnscheck: lookup failed")
)

// LookupError is a failed or empty lookup of one name and type.
type LookupError struct {
	// Name is the name looked up.
	Name string
	// Type is the record type, such as "TXT".
	Type string
	// Kind is one of ErrNXDomain, ErrNoRecords, ErrTimeout, ErrServFail.
	Kind error
	// Err is the underlying error, if any.
	Err error
}

// Error describes the lookup and its outcome.
func (e *LookupError) Error() string {
	msg := fmt.Sprintf("looking up %s %s: %s", e.Type, strings.TrimSuffix(e.Name, "."), strings.TrimPrefix(e.Kind.Error(), "dnscheck: "))
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Is matches the outcome's sentinel.
func (e *LookupError) Is(target error) bool { return target == e.Kind }

// Unwrap returns the underlying error.
func (e *LookupError) Unwrap() error { return e.Err }

// NotFound reports whether err says the records do not exist (NXDOMAIN or
// no records of the type), as opposed to a failure to find out.
func NotFound(err error) bool {
	return errors.Is(err, ErrNXDomain) || errors.Is(err, ErrNoRecords)
}

// Resolver sends queries to one recursive nameserver with miekg/dns.
type Resolver struct {
	addr    string
	timeout time.Duration
}

// NewResolver returns a resolver that queries addr ("HOST:PORT", or a host
// for port 53). An empty addr means the first nameserver of
// /etc/resolv.conf. A zero timeout means DefaultTimeout.
func NewResolver(addr string, timeout time.Duration) (*Resolver, error) {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	if addr == "" {
		cfg, err := dns.ClientConfigFromFile(ResolvConf)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", ResolvConf, err)
		}
		if len(cfg.Servers) == 0 {
			return nil, fmt.Errorf("reading %s: no nameserver", ResolvConf)
		}
		addr = net.JoinHostPort(cfg.Servers[0], cfg.Port)
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		addr = net.JoinHostPort(strings.Trim(addr, "[]"), "53")
	}
	return &Resolver{addr: addr, timeout: timeout}, nil
}

// Addr returns the nameserver address queried.
func (r *Resolver) Addr() string { return r.addr }

// query sends one question and returns the answer records of qtype.
func (r *Resolver) query(ctx context.Context, name string, qtype uint16) ([]dns.RR, error) {
	fqdn := dns.Fqdn(name)
	lerr := func(kind, err error) error {
		return &LookupError{Name: fqdn, Type: dns.TypeToString[qtype], Kind: kind, Err: err}
	}
	if _, ok := dns.IsDomainName(fqdn); !ok {
		return nil, lerr(ErrNXDomain, errors.New("invalid domain name"))
	}
	m := new(dns.Msg)
	m.SetQuestion(fqdn, qtype)
	m.SetEdns0(4096, false)
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	c := &dns.Client{Net: "udp", Timeout: r.timeout}
	resp, _, err := c.ExchangeContext(ctx, m, r.addr)
	if err == nil && resp.Truncated {
		c.Net = "tcp"
		resp, _, err = c.ExchangeContext(ctx, m, r.addr)
	}
	if err != nil {
		if errors.Is(err, context.Canceled) && ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return nil, err
		}
		var ne net.Error
		if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
			return nil, lerr(ErrTimeout, nil)
		}
		return nil, lerr(ErrServFail, err)
	}
	switch resp.Rcode {
	case dns.RcodeSuccess:
	case dns.RcodeNameError:
		return nil, lerr(ErrNXDomain, nil)
	default:
		return nil, lerr(ErrServFail, fmt.Errorf("server answered %s", dns.RcodeToString[resp.Rcode]))
	}
	var out []dns.RR
	for _, rr := range resp.Answer {
		if rr.Header().Rrtype == qtype {
			out = append(out, rr)
		}
	}
	if len(out) == 0 {
		return nil, lerr(ErrNoRecords, nil)
	}
	return out, nil
}

// Exists reports whether name exists in the DNS: false only for NXDOMAIN.
// A name with no records of its own but names below it (an empty
// non-terminal) exists. An error means it could not be found out.
func (r *Resolver) Exists(ctx context.Context, name string) (bool, error) {
	_, err := r.query(ctx, name, dns.TypeSOA)
	switch {
	case errors.Is(err, ErrNXDomain):
		return false, nil
	case err == nil || errors.Is(err, ErrNoRecords):
		return true, nil
	}
	return false, err
}

// LookupTXT returns the TXT records at name, each record's strings joined.
func (r *Resolver) LookupTXT(ctx context.Context, name string) ([]string, error) {
	rrs, err := r.query(ctx, name, dns.TypeTXT)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(rrs))
	for _, rr := range rrs {
		out = append(out, strings.Join(rr.(*dns.TXT).Txt, ""))
	}
	return out, nil
}

// LookupMX returns the MX records at name.
func (r *Resolver) LookupMX(ctx context.Context, name string) ([]*net.MX, error) {
	rrs, err := r.query(ctx, name, dns.TypeMX)
	if err != nil {
		return nil, err
	}
	out := make([]*net.MX, 0, len(rrs))
	for _, rr := range rrs {
		mx := rr.(*dns.MX)
		out = append(out, &net.MX{Host: mx.Mx, Pref: mx.Preference})
	}
	return out, nil
}

// LookupA returns the IPv4 addresses at name.
func (r *Resolver) LookupA(ctx context.Context, name string) ([]net.IP, error) {
	rrs, err := r.query(ctx, name, dns.TypeA)
	if err != nil {
		return nil, err
	}
	out := make([]net.IP, 0, len(rrs))
	for _, rr := range rrs {
		out = append(out, rr.(*dns.A).A)
	}
	return out, nil
}

// LookupAAAA returns the IPv6 addresses at name.
func (r *Resolver) LookupAAAA(ctx context.Context, name string) ([]net.IP, error) {
	rrs, err := r.query(ctx, name, dns.TypeAAAA)
	if err != nil {
		return nil, err
	}
	out := make([]net.IP, 0, len(rrs))
	for _, rr := range rrs {
		out = append(out, rr.(*dns.AAAA).AAAA)
	}
	return out, nil
}

// LookupCNAME returns the target of the CNAME at name.
func (r *Resolver) LookupCNAME(ctx context.Context, name string) (string, error) {
	rrs, err := r.query(ctx, name, dns.TypeCNAME)
	if err != nil {
		return "", err
	}
	return rrs[0].(*dns.CNAME).Target, nil
}

// LookupIP returns the IPv4 and IPv6 addresses at name. It fails only when
// both lookups fail; NXDOMAIN or no addresses at all is a LookupError with
// ErrNXDomain or ErrNoRecords.
func (r *Resolver) LookupIP(ctx context.Context, name string) ([]net.IP, error) {
	v4, err4 := r.LookupA(ctx, name)
	v6, err6 := r.LookupAAAA(ctx, name)
	ips := append(v4, v6...)
	if len(ips) > 0 {
		return ips, nil
	}
	for _, err := range []error{err4, err6} {
		if err != nil && !NotFound(err) {
			return nil, err
		}
	}
	return nil, err4
}

// LookupPTR returns the names of the PTR records for ip.
func (r *Resolver) LookupPTR(ctx context.Context, ip string) ([]string, error) {
	arpa, err := dns.ReverseAddr(ip)
	if err != nil {
		return nil, &LookupError{Name: ip, Type: "PTR", Kind: ErrNXDomain, Err: err}
	}
	rrs, err := r.query(ctx, arpa, dns.TypePTR)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(rrs))
	for _, rr := range rrs {
		out = append(out, rr.(*dns.PTR).Ptr)
	}
	return out, nil
}

// netResolver adapts a Resolver to the net.Resolver-shaped interface the
// SPF library uses, translating outcomes into *net.DNSError the way the
// standard library reports them.
type netResolver struct{ r *Resolver }

func toNetError(name string, err error) error {
	if err == nil {
		return nil
	}
	var le *LookupError
	if !errors.As(err, &le) {
		return err
	}
	de := &net.DNSError{Err: le.Kind.Error(), Name: name, Server: ""}
	switch {
	case errors.Is(err, ErrNXDomain), errors.Is(err, ErrNoRecords):
		de.IsNotFound = true
	case errors.Is(err, ErrTimeout):
		de.IsTimeout, de.IsTemporary = true, true
	default:
		de.IsTemporary = true
	}
	return de
}

func (n netResolver) LookupTXT(ctx context.Context, name string) ([]string, error) {
	out, err := n.r.LookupTXT(ctx, name)
	return out, toNetError(name, err)
}

func (n netResolver) LookupMX(ctx context.Context, name string) ([]*net.MX, error) {
	out, err := n.r.LookupMX(ctx, name)
	return out, toNetError(name, err)
}

func (n netResolver) LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error) {
	ips, err := n.r.LookupIP(ctx, host)
	if err != nil {
		return nil, toNetError(host, err)
	}
	out := make([]net.IPAddr, len(ips))
	for i, ip := range ips {
		out[i] = net.IPAddr{IP: ip}
	}
	return out, nil
}

func (n netResolver) LookupAddr(ctx context.Context, addr string) ([]string, error) {
	out, err := n.r.LookupPTR(ctx, addr)
	return out, toNetError(addr, err)
}
