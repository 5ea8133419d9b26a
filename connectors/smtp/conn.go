package smtp

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	mailsmtp "github.com/wneessen/go-mail/smtp"
)

// deadlineConn is a net.Conn whose deadlines the connector controls: every
// Read and Write may wait at most the socket timeout (the greeting timeout
// until the server has said something), never past the deadline of the
// context it is bound to, and a cancelled context interrupts blocked I/O.
// Deadlines set by the SMTP and TLS layers are ignored.
type deadlineConn struct {
	net.Conn
	idle time.Duration

	mu        sync.Mutex
	ctx       context.Context
	greetBy   time.Time // zero once the server has spoken
	cancelled bool      // the bound context ended while the conn was in use
}

func newDeadlineConn(c net.Conn, idle, greeting time.Duration) *deadlineConn {
	return &deadlineConn{Conn: c, idle: idle, greetBy: time.Now().Add(greeting)}
}

// bind makes I/O honour ctx until the returned function is called.
func (c *deadlineConn) bind(ctx context.Context) (release func()) {
	c.mu.Lock()
	c.ctx = ctx
	c.mu.Unlock()
	stop := context.AfterFunc(ctx, func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		c.cancelled = true
		_ = c.Conn.SetDeadline(time.Unix(1, 0))
	})
	return func() {
		stop()
		c.mu.Lock()
		c.ctx = nil
		c.mu.Unlock()
	}
}

// broken reports whether a context ended while the conn was in use, which
// leaves the SMTP dialogue in an unknown state.
func (c *deadlineConn) broken() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cancelled
}

func (c *deadlineConn) arm() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cancelled {
		return os.ErrDeadlineExceeded
	}
	d := time.Now().Add(c.idle)
	if !c.greetBy.IsZero() && c.greetBy.Before(d) {
		d = c.greetBy
	}
	if c.ctx != nil {
		if dl, ok := c.ctx.Deadline(); ok && dl.Before(d) {
			d = dl
		}
	}
	return c.Conn.SetDeadline(d)
}

// Read reads with the connector's deadline.
func (c *deadlineConn) Read(b []byte) (int, error) {
	if err := c.arm(); err != nil {
		return 0, err
	}
	n, err := c.Conn.Read(b)
	if n > 0 {
		c.mu.Lock()
		c.greetBy = time.Time{}
		c.mu.Unlock()
	}
	return n, err
}

// Write writes with the connector's deadline.
func (c *deadlineConn) Write(b []byte) (int, error) {
	if err := c.arm(); err != nil {
		return 0, err
	}
	return c.Conn.Write(b)
}

// SetDeadline is ignored: the connector manages deadlines itself.
func (c *deadlineConn) SetDeadline(time.Time) error { return nil }

// SetReadDeadline is ignored: the connector manages deadlines itself.
func (c *deadlineConn) SetReadDeadline(time.Time) error { return nil }

// SetWriteDeadline is ignored: the connector manages deadlines itself.
func (c *deadlineConn) SetWriteDeadline(time.Time) error { return nil }

// conn is one open, authenticated SMTP session.
type conn struct {
	client   *mailsmtp.Client
	raw      *deadlineConn
	created  time.Time
	lastUsed time.Time
	sent     int
	tls      bool
}

// close drops the connection without a QUIT.
func (c *conn) close() { _ = c.client.Close() }

// quit ends the session politely, waiting at most a few seconds.
func (c *conn) quit() {
	ctx, cancel := context.WithTimeout(context.Background(), quitTimeout)
	defer cancel()
	release := c.raw.bind(ctx)
	defer release()
	if err := c.client.Quit(); err != nil {
		c.close()
	}
}

const quitTimeout = 3 * time.Second

// Errors of the connection setup that point at the config.
var (
	errNoStartTLS   = errors.New("server does not offer STARTTLS")
	errNoAuth       = errors.New("server does not offer AUTH")
	errNoMechanism  = errors.New("server offers no supported AUTH mechanism")
	errNotTLSServer = errors.New("server did not answer with TLS")
)

// stage names the step of the SMTP dialogue an error happened in.
type stage string

const (
	stageConnect  stage = "connect"
	stageGreeting stage = "greeting"
	stageStartTLS stage = "starttls"
	stageAuth     stage = "auth"
	stageMail     stage = "mail"
	stageRcpt     stage = "rcpt"
	stageData     stage = "data"
	stageContent  stage = "content"
)

// stageError is a failure at one stage of the dialogue.
type stageError struct {
	stage stage
	err   error
}

func (e *stageError) Error() string { return fmt.Sprintf("smtp %s: %v", e.stage, e.err) }
func (e *stageError) Unwrap() error { return e.err }

func at(s stage, err error) error {
	if err == nil {
		return nil
	}
	return &stageError{stage: s, err: err}
}

// dial opens, secures and authenticates a new connection, honouring ctx.
func (s *sender) dial(ctx context.Context) (*conn, error) {
	dctx, cancel := context.WithTimeout(ctx, s.cfg.connectTimeout)
	nc, err := s.dialer.DialContext(dctx, "tcp", s.cfg.addr)
	cancel()
	if err != nil {
		return nil, at(stageConnect, err)
	}
	dc := newDeadlineConn(nc, s.cfg.socketTimeout, s.cfg.greetTimeout)
	release := dc.bind(ctx)
	defer release()
	c, err := s.handshake(ctx, dc)
	if err != nil {
		_ = dc.Conn.Close()
		return nil, err
	}
	return c, nil
}

func (s *sender) handshake(ctx context.Context, dc *deadlineConn) (*conn, error) {
	var nc net.Conn = dc
	if s.cfg.secure {
		tc := tls.Client(dc, s.cfg.tlsConfig)
		if err := tc.HandshakeContext(ctx); err != nil {
			var rh tls.RecordHeaderError
			if errors.As(err, &rh) {
				err = fmt.Errorf("%w: %w", errNotTLSServer, err)
			}
			return nil, at(stageStartTLS, err)
		}
		nc = tc
	}
	client, err := mailsmtp.NewClient(nc, s.cfg.host)
	if err != nil {
		return nil, at(stageGreeting, err)
	}
	if err := client.Hello(s.helo); err != nil {
		return nil, at(stageGreeting, err)
	}
	c := &conn{client: client, raw: dc, created: time.Now(), tls: s.cfg.secure}
	if err := s.startTLS(c); err != nil {
		return nil, err
	}
	if err := s.authenticate(c); err != nil {
		return nil, err
	}
	s.log.Debug("smtp connection opened", "addr", s.cfg.addr, "tls", c.tls, "auth", s.cfg.auth.kind != authNone)
	return c, nil
}

// startTLS applies the STARTTLS policy on a plain connection.
func (s *sender) startTLS(c *conn) error {
	if s.cfg.secure || s.cfg.tlsMode == tlsNever {
		return nil
	}
	offered, _ := c.client.Extension("STARTTLS")
	if !offered {
		if s.cfg.tlsMode == tlsRequired {
			return at(stageStartTLS, errNoStartTLS)
		}
		return nil
	}
	if err := c.client.StartTLS(s.cfg.tlsConfig); err != nil {
		return at(stageStartTLS, err)
	}
	c.tls = true
	return nil
}

// authenticate runs SMTP AUTH when credentials are configured.
func (s *sender) authenticate(c *conn) error {
	a := s.cfg.auth
	if a.kind == authNone {
		return nil
	}
	ok, list := c.client.Extension("AUTH")
	if !ok {
		return at(stageAuth, errNoAuth)
	}
	offered := strings.Fields(strings.ToUpper(list))
	mech, err := chooseMechanism(a, offered)
	if err != nil {
		return at(stageAuth, err)
	}
	if !c.tls && !isLoopback(s.cfg.host) {
		s.log.Warn("smtp credentials sent over an unencrypted connection; set requireTLS or secure", "addr", s.cfg.addr)
	}
	var auth mailsmtp.Auth
	switch mech {
	case "XOAUTH2":
		auth = mailsmtp.XOAuth2Auth(a.user, a.secret.Reveal())
	case "PLAIN":
		auth = mailsmtp.PlainAuth("", a.user, a.secret.Reveal(), s.cfg.host, true)
	case "LOGIN":
		auth = mailsmtp.LoginAuth(a.user, a.secret.Reveal(), s.cfg.host, true)
	case "CRAM-MD5":
		auth = mailsmtp.CRAMMD5Auth(a.user, a.secret.Reveal())
	}
	if err := c.client.Auth(auth); err != nil {
		return at(stageAuth, err)
	}
	return nil
}

// chooseMechanism picks the SASL mechanism among those the server offers.
func chooseMechanism(a authSettings, offered []string) (string, error) {
	var want []string
	switch {
	case a.kind == authOAuth2:
		want = []string{"XOAUTH2"}
	case a.method != "":
		want = []string{a.method}
	default:
		want = []string{"PLAIN", "LOGIN"}
	}
	for _, m := range want {
		if slices.Contains(offered, m) {
			return m, nil
		}
	}
	return "", fmt.Errorf("%w: want %s, server offers %s", errNoMechanism,
		strings.Join(want, " or "), strings.Join(offered, " "))
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
