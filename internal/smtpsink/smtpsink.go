// Package smtpsink is a real SMTP server (emersion/go-smtp) on loopback
// that accepts every message and records it with the time it arrived.
// The end-to-end tests and the load tool point authmail's SMTP connector
// at it.
package smtpsink

import (
	"bytes"
	"io"
	"log"
	"net"
	"net/mail"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-smtp"
)

// Message is one received message.
type Message struct {
	From       string
	To         []string
	Raw        []byte
	Header     mail.Header
	ReceivedAt time.Time
}

// Sink is a running SMTP server.
type Sink struct {
	srv  *smtp.Server
	ln   net.Listener
	mu   sync.Mutex
	msgs []Message
	subs []chan Message
	fail func(rcpt string) *smtp.SMTPError
}

// Start listens on 127.0.0.1 on a free port.
func Start() (*Sink, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &Sink{ln: ln}
	srv := smtp.NewServer(backend{s})
	srv.Domain = "sink.localhost"
	srv.AllowInsecureAuth = true
	srv.ReadTimeout, srv.WriteTimeout = time.Minute, time.Minute
	srv.MaxMessageBytes = 10 << 20
	srv.ErrorLog = log.New(io.Discard, "", 0)
	s.srv = srv
	go func() { _ = srv.Serve(ln) }()
	return s, nil
}

// Addr is host:port.
func (s *Sink) Addr() string { return s.ln.Addr().String() }

// Port is the listening port.
func (s *Sink) Port() int { return s.ln.Addr().(*net.TCPAddr).Port }

// Close stops the server.
func (s *Sink) Close() error { return s.srv.Close() }

// FailRecipients makes RCPT fail with the error fn returns (nil accepts).
func (s *Sink) FailRecipients(fn func(rcpt string) *smtp.SMTPError) {
	s.mu.Lock()
	s.fail = fn
	s.mu.Unlock()
}

// Messages returns what arrived so far.
func (s *Sink) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}

// To returns the messages sent to one address.
func (s *Sink) To(addr string) []Message {
	var out []Message
	for _, m := range s.Messages() {
		for _, r := range m.To {
			if strings.EqualFold(r, addr) {
				out = append(out, m)
			}
		}
	}
	return out
}

// Subscribe returns a channel that receives every later message; buffer
// it for the load you expect.
func (s *Sink) Subscribe(buffer int) <-chan Message {
	ch := make(chan Message, buffer)
	s.mu.Lock()
	s.subs = append(s.subs, ch)
	s.mu.Unlock()
	return ch
}

func (s *Sink) add(m Message) {
	s.mu.Lock()
	s.msgs = append(s.msgs, m)
	subs := s.subs
	s.mu.Unlock()
	for _, ch := range subs {
		select {
		case ch <- m:
		default:
		}
	}
}

type backend struct{ s *Sink }

func (b backend) NewSession(*smtp.Conn) (smtp.Session, error) { return &session{s: b.s}, nil }

type session struct {
	s    *Sink
	from string
	to   []string
}

func (x *session) AuthMechanisms() []string { return nil }
func (x *session) Mail(from string, _ *smtp.MailOptions) error {
	x.from = from
	return nil
}
func (x *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	x.s.mu.Lock()
	fail := x.s.fail
	x.s.mu.Unlock()
	if fail != nil {
		if err := fail(to); err != nil {
			return err
		}
	}
	x.to = append(x.to, to)
	return nil
}
func (x *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	m := Message{From: x.from, To: x.to, Raw: raw, ReceivedAt: time.Now()}
	if msg, err := mail.ReadMessage(bytes.NewReader(raw)); err == nil {
		m.Header = msg.Header
	}
	x.s.add(m)
	return nil
}
func (x *session) Reset()        { x.from, x.to = "", nil }
func (x *session) Logout() error { return nil }
