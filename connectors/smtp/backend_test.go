package smtp

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"math/big"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"

	"github.com/authmail/authmail/connector/connectortest"
)

// Credentials the test server accepts.
const (
	testUser  = "mailer@acme.test"
	testPass  = "s3cret-Pa55-9f2c"
	testToken = "ya29.token-7c1e5a"
)

// serverOpts shape a test SMTP server.
type serverOpts struct {
	implicitTLS bool     // TLS from the first byte (second listener kind)
	noStartTLS  bool     // do not offer STARTTLS
	user        string   // required login; empty for an IP-authorised relay
	pass        string   // password for PLAIN and LOGIN
	token       string   // bearer token for XOAUTH2
	mechs       []string // AUTH mechanisms offered; default PLAIN LOGIN XOAUTH2
	// reuse421 answers the first MAIL of every message after the first in
	// a session with 421 4.4.2 and closes, like a server that timed out.
	reuse421 bool
	// dropAfterData closes the connection instead of answering the end
	// of DATA of every message after the first in a session.
	dropAfterData bool
	// tlsMax caps the server's TLS version.
	tlsMax uint16
	// rate421 makes FailRateLimit answer 421 4.7.0 instead of 451 4.7.1.
	rate421 bool
}

// delivery is one accepted message with what the server saw.
type delivery struct {
	connectortest.Received
	raw      []byte
	tls      bool
	authUser string
	authMech string
}

// testServer is an in-process SMTP server speaking through go-smtp, able
// to fail on command as connectortest.Backend requires.
type testServer struct {
	t       *testing.T
	opts    serverOpts
	srv     *gosmtp.Server
	port    int
	done    chan struct{}
	closing sync.Once

	mu          sync.Mutex
	failure     connectortest.Failure
	deliveries  []delivery
	conns       []net.Conn
	accepted    int
	open        int
	maxOpen     int
	authTries   int
	mails       int
	extraConfig map[string]any
}

var (
	certOnce sync.Once
	certPair tls.Certificate
	certPEM  string
)

// testCert returns a self-signed certificate for 127.0.0.1, localhost and
// mail.acme.test, generated once per test binary.
func testCert(t *testing.T) (tls.Certificate, string) {
	t.Helper()
	certOnce.Do(func() {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			panic(err)
		}
		tmpl := &x509.Certificate{
			SerialNumber:          big.NewInt(time.Now().UnixNano()),
			Subject:               pkix.Name{CommonName: "authmail test SMTP"},
			NotBefore:             time.Now().Add(-time.Hour),
			NotAfter:              time.Now().Add(24 * time.Hour),
			KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
			ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
			BasicConstraintsValid: true,
			IsCA:                  true,
			IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
			DNSNames:              []string{"localhost", "mail.acme.test"},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			panic(err)
		}
		certPair = tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
		certPEM = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	})
	return certPair, certPEM
}

// newTestServer starts a server on 127.0.0.1 and stops it when t ends.
func newTestServer(t *testing.T, opts serverOpts) *testServer {
	t.Helper()
	cert, _ := testCert(t)
	if opts.mechs == nil {
		opts.mechs = []string{"PLAIN", "LOGIN", "XOAUTH2"}
	}
	s := &testServer{t: t, opts: opts, done: make(chan struct{})}
	srv := gosmtp.NewServer(s)
	srv.Domain = "mail.acme.test"
	srv.ReadTimeout = 10 * time.Second
	srv.WriteTimeout = 10 * time.Second
	srv.ErrorLog = log.New(io.Discard, "", 0)
	tlsConfig := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12, MaxVersion: opts.tlsMax}
	if !opts.noStartTLS && !opts.implicitTLS {
		srv.TLSConfig = tlsConfig
	}
	srv.AllowInsecureAuth = opts.noStartTLS || opts.implicitTLS
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	var l net.Listener = &countingListener{Listener: ln, s: s}
	if opts.implicitTLS {
		l = tls.NewListener(l, tlsConfig)
	}
	s.srv, s.port = srv, ln.Addr().(*net.TCPAddr).Port
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(s.close)
	return s
}

func (s *testServer) close() {
	s.closing.Do(func() {
		close(s.done)
		_ = s.srv.Close()
	})
}

// countingListener counts and keeps the accepted connections.
type countingListener struct {
	net.Listener
	s *testServer
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.s.mu.Lock()
	l.s.accepted++
	l.s.open++
	l.s.maxOpen = max(l.s.maxOpen, l.s.open)
	l.s.conns = append(l.s.conns, c)
	l.s.mu.Unlock()
	return &countedConn{Conn: c, s: l.s}, nil
}

type countedConn struct {
	net.Conn
	s    *testServer
	once sync.Once
	// closeAfterWrite closes the connection once the next write (the
	// reply to the command being handled) has gone out.
	closeAfterWrite atomic.Bool
}

func (c *countedConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	if c.closeAfterWrite.Swap(false) {
		_ = c.Close()
	}
	return n, err
}

// counted returns the counted connection under a session's connection
// (plain, or under implicit TLS).
func counted(c net.Conn) *countedConn {
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	cc, _ := c.(*countedConn)
	return cc
}

func (c *countedConn) Close() error {
	c.once.Do(func() {
		c.s.mu.Lock()
		c.s.open--
		c.s.mu.Unlock()
	})
	return c.Conn.Close()
}

// Config returns a config pointing at the server, with its CA trusted.
func (s *testServer) Config() json.RawMessage {
	_, ca := testCert(s.t)
	cfg := map[string]any{
		"host":      "127.0.0.1",
		"port":      s.port,
		"fromEmail": "Acme Security <no-reply@acme.test>",
		"tls":       map[string]any{"ca": ca},
	}
	if s.opts.implicitTLS {
		cfg["secure"] = true
	}
	switch {
	case s.opts.token != "":
		cfg["auth"] = map[string]any{"type": "oauth2", "user": s.opts.user, "accessToken": s.opts.token}
	case s.opts.user != "":
		cfg["auth"] = map[string]any{"type": "login", "user": s.opts.user, "pass": s.opts.pass}
	}
	for k, v := range s.extraConfig {
		cfg[k] = v
	}
	b, err := json.Marshal(cfg)
	if err != nil {
		s.t.Fatalf("config: %v", err)
	}
	return b
}

// Received returns the accepted messages, oldest first.
func (s *testServer) Received() []connectortest.Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]connectortest.Received, len(s.deliveries))
	for i, d := range s.deliveries {
		out[i] = d.Received
	}
	return out
}

// Fail sets how the server answers from now on.
func (s *testServer) Fail(f connectortest.Failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failure = f
}

func (s *testServer) failing() connectortest.Failure {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.failure
}

// Deliveries returns the accepted messages with what the server saw.
func (s *testServer) Deliveries() []delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]delivery(nil), s.deliveries...)
}

// Accepted returns how many connections the server accepted.
func (s *testServer) Accepted() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.accepted
}

// Open returns how many connections are open now and at most.
func (s *testServer) Open() (now, most int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.open, s.maxOpen
}

// AuthTries returns how many AUTH commands the server saw.
func (s *testServer) AuthTries() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.authTries
}

// Mails returns how many MAIL commands the server saw.
func (s *testServer) Mails() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mails
}

// DropAll closes every connection from the server's side.
func (s *testServer) DropAll() {
	s.mu.Lock()
	conns := s.conns
	s.conns = nil
	s.mu.Unlock()
	for _, c := range conns {
		_ = c.Close()
	}
}

// NewSession starts a session for one EHLO.
func (s *testServer) NewSession(c *gosmtp.Conn) (gosmtp.Session, error) {
	return &session{s: s, conn: c, raw: counted(c.Conn())}, nil
}

type session struct {
	s        *testServer
	conn     *gosmtp.Conn
	raw      *countedConn
	authUser string
	authMech string
	from     string
	to       []string
	messages int
}

var (
	errRateLimit421 = &gosmtp.SMTPError{Code: 421, EnhancedCode: gosmtp.EnhancedCode{4, 7, 0}, Message: "Too many messages, slow down"}
	errRateLimit451 = &gosmtp.SMTPError{Code: 451, EnhancedCode: gosmtp.EnhancedCode{4, 7, 1}, Message: "Too many messages, try again later"}
	errTemporary    = &gosmtp.SMTPError{Code: 451, EnhancedCode: gosmtp.EnhancedCode{4, 3, 0}, Message: "Local error in processing"}
	errNoMailbox    = &gosmtp.SMTPError{Code: 550, EnhancedCode: gosmtp.EnhancedCode{5, 1, 1}, Message: "No such user here"}
	errAuthNeeded   = &gosmtp.SMTPError{Code: 530, EnhancedCode: gosmtp.EnhancedCode{5, 7, 0}, Message: "Authentication required"}
	errIdleTimeout  = &gosmtp.SMTPError{Code: 421, EnhancedCode: gosmtp.EnhancedCode{4, 4, 2}, Message: "Idle timeout, closing connection"}
)

// AuthMechanisms lists the offered mechanisms, none for a relay.
func (ss *session) AuthMechanisms() []string {
	if ss.s.opts.user == "" {
		return nil
	}
	return ss.s.opts.mechs
}

// Auth returns the SASL server for mech.
func (ss *session) Auth(mech string) (sasl.Server, error) {
	ss.s.mu.Lock()
	ss.s.authTries++
	ss.s.mu.Unlock()
	check := func(user, secret string, want string) error {
		if ss.s.failing() == connectortest.FailAuth || user != ss.s.opts.user || want == "" || secret != want {
			return gosmtp.ErrAuthFailed
		}
		ss.authUser, ss.authMech = user, mech
		return nil
	}
	switch mech {
	case "PLAIN":
		return sasl.NewPlainServer(func(_, user, pass string) error { return check(user, pass, ss.s.opts.pass) }), nil
	case "LOGIN":
		return &loginServer{check: func(user, pass string) error { return check(user, pass, ss.s.opts.pass) }}, nil
	case "XOAUTH2":
		return &xoauth2Server{check: func(user, token string) error { return check(user, token, ss.s.opts.token) }}, nil
	}
	return nil, gosmtp.ErrAuthUnknownMechanism
}

// Mail starts a transaction.
func (ss *session) Mail(from string, _ *gosmtp.MailOptions) error {
	ss.s.mu.Lock()
	ss.s.mails++
	ss.s.mu.Unlock()
	if ss.s.opts.user != "" && ss.authUser == "" {
		return errAuthNeeded
	}
	if ss.s.opts.reuse421 && ss.messages > 0 {
		ss.raw.closeAfterWrite.Store(true) // after the 421 reply, as a server that timed out does
		return errIdleTimeout
	}
	switch ss.s.failing() {
	case connectortest.FailRateLimit:
		if ss.s.opts.rate421 {
			return errRateLimit421
		}
		return errRateLimit451
	case connectortest.FailSlow:
		select {
		case <-time.After(5 * time.Second):
		case <-ss.s.done:
		}
		return errTemporary
	}
	ss.from = from
	return nil
}

// Rcpt adds a recipient.
func (ss *session) Rcpt(to string, _ *gosmtp.RcptOptions) error {
	if ss.s.failing() == connectortest.FailReject {
		return errNoMailbox
	}
	ss.to = append(ss.to, to)
	return nil
}

// Data reads and records the message.
func (ss *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if ss.s.failing() == connectortest.FailTemporary {
		return errTemporary
	}
	if ss.s.opts.dropAfterData && ss.messages > 0 {
		_ = ss.conn.Close()
		return errTemporary
	}
	ss.messages++
	rec, err := parseMessage(raw)
	if err != nil {
		ss.s.t.Errorf("server could not parse the message: %v\n%s", err, raw)
		return err
	}
	rec.To = strings.Join(ss.to, ",")
	_, isTLS := ss.conn.TLSConnectionState()
	ss.s.mu.Lock()
	ss.s.deliveries = append(ss.s.deliveries, delivery{Received: rec, raw: raw, tls: isTLS, authUser: ss.authUser, authMech: ss.authMech})
	ss.s.mu.Unlock()
	return nil
}

// Reset ends the transaction.
func (ss *session) Reset() { ss.from, ss.to = "", nil }

// Logout ends the session.
func (ss *session) Logout() error { return nil }

// loginServer is the server side of AUTH LOGIN.
type loginServer struct {
	check func(user, pass string) error
	step  int
	user  string
}

func (l *loginServer) Next(resp []byte) ([]byte, bool, error) {
	switch l.step {
	case 0:
		l.step++
		if resp == nil {
			return []byte("Username:"), false, nil
		}
		l.user, l.step = string(resp), 2
		return []byte("Password:"), false, nil
	case 1:
		l.user, l.step = string(resp), 2
		return []byte("Password:"), false, nil
	default:
		return nil, true, l.check(l.user, string(resp))
	}
}

// xoauth2Server is the server side of Google's XOAUTH2: a bad token gets a
// JSON challenge, and the client's empty answer then fails.
type xoauth2Server struct {
	check  func(user, token string) error
	failed bool
}

func (x *xoauth2Server) Next(resp []byte) ([]byte, bool, error) {
	if x.failed {
		return nil, true, gosmtp.ErrAuthFailed
	}
	if resp == nil {
		return []byte{}, false, nil
	}
	var user, token string
	for _, kv := range strings.Split(string(resp), "\x01") {
		if v, ok := strings.CutPrefix(kv, "user="); ok {
			user = v
		}
		if v, ok := strings.CutPrefix(kv, "auth=Bearer "); ok {
			token = v
		}
	}
	if err := x.check(user, token); err != nil {
		x.failed = true
		return []byte(`{"status":"401","schemes":"bearer","scope":"https://mail.google.com/"}`), false, nil
	}
	return nil, true, nil
}

// parseMessage decodes a message the way a mail client would.
func parseMessage(raw []byte) (connectortest.Received, error) {
	var rec connectortest.Received
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return rec, err
	}
	dec := new(mime.WordDecoder)
	if rec.Subject, err = dec.DecodeHeader(m.Header.Get("Subject")); err != nil {
		return rec, err
	}
	from, err := m.Header.AddressList("From")
	if err != nil || len(from) != 1 {
		return rec, errors.Join(errors.New("bad From"), err)
	}
	rec.From, rec.FromName = from[0].Address, from[0].Name
	if m.Header.Get("Reply-To") != "" {
		rt, err := m.Header.AddressList("Reply-To")
		if err != nil {
			return rec, err
		}
		rec.ReplyTo = rt[0].Address
	}
	rec.MessageID = m.Header.Get("Message-Id")
	err = walkParts(m.Header.Get("Content-Type"), m.Header.Get("Content-Transfer-Encoding"), m.Body, func(ct string, body string) {
		switch ct {
		case "text/plain":
			rec.Text = body
		case "text/html":
			rec.HTML = body
		}
	})
	return rec, err
}

// walkParts calls fn with every leaf part's media type and decoded body.
func walkParts(contentType, cte string, body io.Reader, fn func(ct, body string)) error {
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return err
	}
	if strings.HasPrefix(mt, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextPart()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
			if err := walkParts(p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p, fn); err != nil {
				return err
			}
		}
	}
	switch strings.ToLower(cte) {
	case "base64":
		body = base64.NewDecoder(base64.StdEncoding, body)
	case "quoted-printable":
		body = quotedprintable.NewReader(body)
	}
	b, err := io.ReadAll(body)
	if err != nil {
		return err
	}
	fn(mt, string(b))
	return nil
}
