// Package dnstest runs an in-process DNS server on 127.0.0.1 that serves
// fixture zones written in zone-file syntax, for tests of code that looks
// records up through a configurable resolver. It never forwards a query:
// a name it does not know is NXDOMAIN.
package dnstest

import (
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/miekg/dns"
)

// Server is a running fixture DNS server. Add records, and mark names that
// must time out or fail, at any time; queries see the current state.
type Server struct {
	// Addr is the server's UDP address, "127.0.0.1:PORT".
	Addr string

	srv *dns.Server

	mu       sync.Mutex
	records  map[string][]dns.RR // by lower-case FQDN
	hang     []string            // suffixes that never answer
	servfail []string            // suffixes answered with SERVFAIL
	queries  int
}

// Start runs a server serving records (zone-file lines such as
// `example.com. 300 IN TXT "v=spf1 -all"`) and stops it when the test ends.
func Start(t testing.TB, records ...string) *Server {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("dnstest: listening: %v", err)
	}
	s := &Server{Addr: pc.LocalAddr().String(), records: map[string][]dns.RR{}}
	started := make(chan struct{})
	s.srv = &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(s.serve), NotifyStartedFunc: func() { close(started) }}
	go func() { _ = s.srv.ActivateAndServe() }()
	<-started
	t.Cleanup(func() { _ = s.srv.Shutdown() })
	if err := s.Add(records...); err != nil {
		t.Fatalf("dnstest: %v", err)
	}
	return s
}

// Add parses records in zone-file syntax and serves them.
func (s *Server) Add(records ...string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, line := range records {
		rr, err := dns.NewRR(line)
		if err != nil {
			return err
		}
		if rr == nil {
			continue
		}
		name := strings.ToLower(rr.Header().Name)
		s.records[name] = append(s.records[name], rr)
	}
	return nil
}

// MustAdd is Add for tests: it fails t on a record that does not parse.
func (s *Server) MustAdd(t testing.TB, records ...string) {
	t.Helper()
	if err := s.Add(records...); err != nil {
		t.Fatalf("dnstest: %v", err)
	}
}

// Hang makes every query for name or a name under it go unanswered, so the
// client times out.
func (s *Server) Hang(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hang = append(s.hang, dns.Fqdn(strings.ToLower(name)))
}

// ServFail makes every query for name or a name under it answer SERVFAIL.
func (s *Server) ServFail(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.servfail = append(s.servfail, dns.Fqdn(strings.ToLower(name)))
}

// Queries returns how many queries the server has received.
func (s *Server) Queries() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.queries
}

func under(name string, suffixes []string) bool {
	for _, sfx := range suffixes {
		if dns.IsSubDomain(sfx, name) {
			return true
		}
	}
	return false
}

func (s *Server) serve(w dns.ResponseWriter, req *dns.Msg) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.queries++
	if len(req.Question) != 1 {
		return
	}
	q := req.Question[0]
	name := strings.ToLower(q.Name)
	if under(name, s.hang) {
		return
	}
	resp := new(dns.Msg)
	resp.SetReply(req)
	resp.Authoritative = true
	if opt := req.IsEdns0(); opt != nil {
		resp.SetEdns0(opt.UDPSize(), false)
	}
	if under(name, s.servfail) {
		resp.Rcode = dns.RcodeServerFailure
		_ = w.WriteMsg(resp)
		return
	}
	resp.Answer, resp.Rcode = s.answer(name, q.Qtype, 0)
	_ = w.WriteMsg(resp)
}

// answer collects the records of type qtype at name, following CNAMEs
// inside the fixture zones.
func (s *Server) answer(name string, qtype uint16, depth int) ([]dns.RR, int) {
	rrs, ok := s.records[name]
	if !ok {
		if s.hasDescendant(name) {
			return nil, dns.RcodeSuccess // empty non-terminal
		}
		return nil, dns.RcodeNameError
	}
	var out []dns.RR
	for _, rr := range rrs {
		if rr.Header().Rrtype == qtype {
			out = append(out, rr)
		}
	}
	if len(out) > 0 || qtype == dns.TypeCNAME || depth > 8 {
		return out, dns.RcodeSuccess
	}
	for _, rr := range rrs {
		if c, ok := rr.(*dns.CNAME); ok {
			more, rcode := s.answer(strings.ToLower(c.Target), qtype, depth+1)
			return append([]dns.RR{c}, more...), rcode
		}
	}
	return nil, dns.RcodeSuccess
}

func (s *Server) hasDescendant(name string) bool {
	for n := range s.records {
		if n != name && dns.IsSubDomain(name, n) {
			return true
		}
	}
	return false
}
