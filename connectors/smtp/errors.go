package smtp

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"regexp"
	"strings"

	"github.com/authmail/authmail/connector"
)

// classify turns a failure into one of the connector error classes.
func (s *sender) classify(ctx context.Context, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return connector.NetworkError(fmt.Errorf("sending over smtp: %w", ctxErr))
	}
	if errors.Is(err, errPoolClosed) {
		return &connector.Error{Kind: connector.ErrTemporary, Err: err}
	}
	st := stageOf(err)
	if ce := configError(st, err); ce != nil {
		return ce
	}
	var reply *textproto.Error
	if errors.As(err, &reply) {
		return replyError(st, reply.Code, reply.Msg, s.secrets)
	}
	// The stage and the server are said once: a stage error already
	// names its stage, and a dial or lookup error already names the
	// address or the host.
	var se *stageError
	if errors.As(err, &se) {
		err = se.err
	}
	where := fmt.Sprintf("smtp %s", st)
	if host, _, _ := net.SplitHostPort(s.cfg.addr); !strings.Contains(err.Error(), host) {
		where += " " + s.cfg.addr
	}
	return connector.NetworkError(fmt.Errorf("%s: %w", where, err))
}

func stageOf(err error) stage {
	var se *stageError
	if errors.As(err, &se) {
		return se.stage
	}
	return stageConnect
}

// configError recognises failures that only a config change can fix.
func configError(st stage, err error) error {
	var (
		certErr *tls.CertificateVerificationError
		unknown x509.UnknownAuthorityError
		host    x509.HostnameError
		invalid x509.CertificateInvalidError
	)
	switch {
	case errors.Is(err, errNoStartTLS):
		return connector.InvalidConfig("requireTLS", "the server does not offer STARTTLS; use secure with its implicit TLS port, or turn requireTLS off")
	case errors.Is(err, errNotTLSServer):
		return connector.InvalidConfig("secure", "the server did not answer with TLS; set secure to false on a STARTTLS port such as 587")
	case errors.Is(err, errNoAuth):
		return connector.InvalidConfig("auth", "the server offers no AUTH on this connection; remove auth for an IP-authorised relay, or do not set ignoreTLS if AUTH needs STARTTLS first")
	case errors.Is(err, errNoMechanism):
		return connector.InvalidConfig("auth", "%s", connector.Snippet(err.Error()))
	case errors.As(err, &certErr), errors.As(err, &unknown), errors.As(err, &host), errors.As(err, &invalid):
		return connector.InvalidConfig("tls", "the server's certificate failed verification (%s); set servername to the name in the certificate or tls.ca to its CA", connector.Snippet(err.Error()))
	}
	if st == stageStartTLS && (tlsAlert(err) || !isNetworkError(err)) {
		var reply *textproto.Error
		if !errors.As(err, &reply) {
			return connector.InvalidConfig("tls", "the TLS handshake failed (%s); check tls.minVersion and the server's TLS settings", connector.Snippet(err.Error()))
		}
	}
	return nil
}

// tlsAlert reports whether the TLS handshake ended with an alert, sent by
// the server (a net.OpError "remote error") or by the client.
func tlsAlert(err error) bool {
	var oe *net.OpError
	var alert tls.AlertError
	return errors.As(err, &alert) || errors.As(err, &oe) && oe.Op == "remote error"
}

func isNetworkError(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed)
}

// enhancedRE matches an RFC 3463 enhanced status code at the start of a reply.
var enhancedRE = regexp.MustCompile(`^([245])\.(\d{1,3})\.(\d{1,3})\b`)

// rateRE matches reply texts that ask the client to slow down.
var rateRE = regexp.MustCompile(`(?i)\brate\b|rate.?limit|too many|throttl|\blimit(s|ed)?\b|slow down`)

// stageLabels name the stages in error messages.
var stageLabels = map[stage]string{
	stageConnect: "connect", stageGreeting: "greeting", stageStartTLS: "STARTTLS", stageAuth: "AUTH",
	stageMail: "MAIL FROM", stageRcpt: "RCPT TO", stageData: "DATA", stageContent: "end of DATA",
}

// replyError classifies an SMTP reply: authentication failures, rate
// limits (421/450/451/452 with 4.7.x or rate wording), other 4xx
// (temporary) and other 5xx (rejected).
func replyError(st stage, code int, text string, secrets []string) error {
	enh := ""
	if m := enhancedRE.FindString(text); m != "" {
		enh = m
		text = strings.TrimSpace(text[len(m):])
	}
	e := &connector.Error{Status: code, Code: enh}
	switch {
	case isAuthReply(st, code, enh):
		e.Kind = connector.ErrAuth
	case isRateLimit(code, enh, text):
		e.Kind = connector.ErrRateLimited
	case code >= 400 && code < 500:
		e.Kind = connector.ErrTemporary
	case code >= 500:
		e.Kind = connector.ErrRejected
	default:
		e.Kind = connector.ErrTemporary
	}
	e.Message = connector.Snippet(stageLabels[st]+": "+text, secrets...)
	return e
}

func isAuthReply(st stage, code int, enh string) bool {
	switch {
	case code == 530 || code == 534 || code == 535:
		return true
	case enh == "5.7.8" || enh == "5.7.9" || enh == "5.7.11" || enh == "5.7.12":
		return true
	default:
		return st == stageAuth && code >= 500
	}
}

func isRateLimit(code int, enh, text string) bool {
	switch code {
	case 421, 450, 451, 452:
		return strings.HasPrefix(enh, "4.7.") || rateRE.MatchString(text)
	}
	return false
}

// staleConnection reports whether a failure on a reused connection means
// the connection had gone stale (closed or timed out by the server) before
// the server accepted DATA, so the message can go again on a fresh one.
func staleConnection(err error) bool {
	switch stageOf(err) {
	case stageMail, stageRcpt, stageData:
	default:
		return false
	}
	var reply *textproto.Error
	if errors.As(err, &reply) {
		return reply.Code == 421 && !isRateLimit(421, enhancedRE.FindString(reply.Msg), reply.Msg)
	}
	return true
}
