package smtp

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"mime"
	"net/mail"
	"os"
	"slices"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"
	"golang.org/x/net/idna"

	"github.com/authmail/authmail/connector"
)

// sender is the SMTP connector: a validated config and a connection pool.
type sender struct {
	cfg     *settings
	helo    string
	log     *slog.Logger
	now     func() time.Time
	pool    *pool
	secrets []string
	dialer  connector.Dialer // the host's guarded dialer
}

func newSender(cfg *settings, env connector.Env) *sender {
	s := &sender{cfg: cfg, helo: cfg.helo, log: env.Logger, now: env.Now, dialer: env.Dialer}
	if s.helo == "" {
		s.helo = defaultHELO()
	}
	for _, v := range []string{cfg.auth.secret.Reveal(), cfg.dkimKey.Reveal()} {
		if v != "" {
			s.secrets = append(s.secrets, v)
		}
	}
	s.pool = newPool(cfg.maxConns, s.dial)
	return s
}

func defaultHELO() string {
	h, err := os.Hostname()
	if err != nil || h == "" || strings.ContainsAny(h, " \t") {
		return "localhost"
	}
	return h
}

// Send delivers msg over a pooled connection. A connection-level failure
// on a reused connection before the server accepted DATA is retried once on
// a fresh connection.
func (s *sender) Send(ctx context.Context, msg connector.Message) (connector.Receipt, error) {
	if err := ctx.Err(); err != nil {
		return connector.Receipt{}, s.classify(ctx, err)
	}
	env, err := s.envelope(msg)
	if err != nil {
		return connector.Receipt{}, err
	}
	for attempt := 0; ; attempt++ {
		c, reused, err := s.pool.get(ctx)
		if err != nil {
			return connector.Receipt{}, s.classify(ctx, err)
		}
		err = s.transact(ctx, c, env)
		if err == nil {
			s.pool.put(c)
			s.log.Debug("smtp message sent", "messageId", env.messageID, "reusedConnection", reused)
			return connector.Receipt{ProviderMessageID: env.messageID}, nil
		}
		s.pool.discard(c)
		if reused && attempt == 0 && ctx.Err() == nil && staleConnection(err) {
			s.log.Debug("smtp pooled connection failed, retrying on a new one", "err", err)
			continue
		}
		return connector.Receipt{}, s.classify(ctx, err)
	}
}

// Templates returns the config's own templates.
func (s *sender) Templates() []connector.Template { return slices.Clone(s.cfg.templates) }

// Close closes the connection pool.
func (s *sender) Close() error { return s.pool.Close() }

// envelope is a rendered message ready to hand to any connection.
type envelope struct {
	from      string
	to        string
	messageID string
	data      []byte
}

// transact runs one mail transaction on c.
func (s *sender) transact(ctx context.Context, c *conn, env *envelope) error {
	release := c.raw.bind(ctx)
	defer release()
	if err := c.client.Mail(env.from); err != nil {
		return at(stageMail, err)
	}
	if err := c.client.Rcpt(env.to); err != nil {
		return at(stageRcpt, err)
	}
	w, err := c.client.Data()
	if err != nil {
		return at(stageData, err)
	}
	if _, err := w.Write(env.data); err != nil {
		return at(stageContent, err)
	}
	return at(stageContent, w.Close())
}

// envelope renders msg into the bytes sent after DATA.
func (s *sender) envelope(msg connector.Message) (*envelope, error) {
	from := connector.ResolveFrom(msg.From, s.cfg.from)
	from.Name = connector.StripControl(from.Name)
	if _, err := mail.ParseAddress(from.Email); err != nil {
		return nil, &connector.Error{Kind: connector.ErrRejected, Message: "invalid sender address"}
	}
	to, err := connector.ParseAddress(msg.To)
	if err != nil {
		return nil, &connector.Error{Kind: connector.ErrRejected, Message: "invalid recipient address"}
	}
	replyTo := s.cfg.replyTo
	if msg.ReplyTo.Email != "" {
		replyTo = msg.ReplyTo
		if _, err := mail.ParseAddress(replyTo.Email); err != nil {
			return nil, &connector.Error{Kind: connector.ErrRejected, Message: "invalid reply-to address"}
		}
	}
	id := messageID(msg.ID, from.Email)

	m := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	m.FromMailAddress(&mail.Address{Name: from.Name, Address: from.Email})
	m.ToMailAddress(&mail.Address{Name: to.Name, Address: to.Email})
	if replyTo.Email != "" {
		m.ReplyToMailAddress(&mail.Address{Name: connector.StripControl(replyTo.Name), Address: replyTo.Email})
	}
	m.Subject(connector.StripControl(msg.Subject))
	m.SetMessageIDWithValue(id)
	m.SetDateWithValue(s.now())
	m.SetBodyString(gomail.TypeTextPlain, msg.Text)
	if msg.HTML != "" {
		m.AddAlternativeString(gomail.TypeTextHTML, msg.HTML)
	}
	var buf bytes.Buffer
	for _, h := range s.extraHeaders(msg.Headers) {
		writeHeader(&buf, h)
	}
	if _, err := m.WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("rendering message: %w", err)
	}
	data, err := s.sign(toCRLF(buf.Bytes()))
	if err != nil {
		return nil, err
	}
	return &envelope{
		from:      angle(from.Email),
		to:        angle(to.Email),
		messageID: id,
		data:      data,
	}, nil
}

// sign prepends a DKIM-Signature to data when the config has a dkim
// block. data must be the final bytes sent after DATA: the SMTP layer only
// dot-stuffs them, which the receiver undoes before verifying.
func (s *sender) sign(data []byte) ([]byte, error) {
	if s.cfg.signer == nil {
		return data, nil
	}
	signed, err := s.cfg.signer.Sign(data)
	if err != nil {
		return nil, &connector.Error{Kind: connector.ErrInvalidConfig, Message: connector.Snippet("dkim: "+err.Error(), s.secrets...), Err: err}
	}
	return signed, nil
}

// toCRLF turns every bare LF into CRLF, as the DATA writer would on the
// wire, so the signed bytes are exactly the bytes the server receives.
func toCRLF(b []byte) []byte {
	n := 0
	for i, c := range b {
		if c == '\n' && (i == 0 || b[i-1] != '\r') {
			n++
		}
	}
	if n == 0 {
		return b
	}
	out := make([]byte, 0, len(b)+n)
	for i, c := range b {
		if c == '\n' && (i == 0 || b[i-1] != '\r') {
			out = append(out, '\r')
		}
		out = append(out, c)
	}
	return out
}

func angle(addr string) string { return "<" + addr + ">" }

// extraHeaders merges the config's custom headers with the message's own;
// a message header replaces a config header of the same name.
func (s *sender) extraHeaders(msgHeaders map[string]string) []header {
	if len(msgHeaders) == 0 {
		return s.cfg.headers
	}
	own := map[string]string{}
	for k, v := range msgHeaders {
		name, ok := headerName(k)
		if !ok || protectedHeaders[name] {
			s.log.Debug("smtp skipped a message header", "header", k)
			continue
		}
		own[name] = connector.StripControl(v)
	}
	var out []header
	for _, h := range s.cfg.headers {
		if _, replaced := own[h.name]; !replaced {
			out = append(out, h)
		}
	}
	for name, v := range own {
		out = append(out, header{name: name, value: v})
	}
	return out
}

// writeHeader writes one header line, encoding a non-ASCII value as
// RFC 2047 words and folding it at spaces.
func writeHeader(buf *bytes.Buffer, h header) {
	v := h.value
	if !isASCII(v) {
		v = mime.QEncoding.Encode("utf-8", v)
	}
	line := len(h.name) + 1
	buf.WriteString(h.name)
	buf.WriteString(":")
	for _, word := range strings.Split(v, " ") {
		if line+1+len(word) > 76 && line > len(h.name)+1 {
			buf.WriteString("\r\n")
			line = 0
		}
		buf.WriteString(" ")
		buf.WriteString(word)
		line += 1 + len(word)
	}
	buf.WriteString("\r\n")
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// messageID builds the stable Message-ID value (without angle brackets)
// from the message ID and the sender's domain.
func messageID(id, from string) string {
	left := idLeft(id)
	if left == "" {
		b := make([]byte, 16)
		_, _ = rand.Read(b)
		left = hex.EncodeToString(b)
	}
	domain := "localhost"
	if i := strings.LastIndexByte(from, '@'); i >= 0 {
		if d, err := idna.Lookup.ToASCII(from[i+1:]); err == nil && d != "" {
			domain = d
		}
	}
	return left + "@" + domain
}

// idLeft keeps the characters allowed in a dot-atom and replaces the rest.
func idLeft(id string) string {
	const allowed = "!#$%&'*+-/=?^_`{|}~."
	b := []byte(id)
	for i, c := range b {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte(allowed, c) >= 0
		if !ok {
			b[i] = '_'
		}
	}
	out := strings.Trim(string(b), ".")
	for strings.Contains(out, "..") {
		out = strings.ReplaceAll(out, "..", "._")
	}
	return out
}
