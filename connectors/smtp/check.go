package smtp

import "context"

// Check opens a connection as Send does (connect, greeting, EHLO, implicit
// TLS or STARTTLS under the config's policy, AUTH with the configured
// credentials) and ends it with QUIT, without a MAIL command: it proves
// the server, the TLS settings and the credentials and sends nothing.
// The connection is not pooled.
func (s *sender) Check(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return s.classify(ctx, err)
	}
	c, err := s.dial(ctx)
	if err != nil {
		return s.classify(ctx, err)
	}
	c.quit()
	s.log.DebugContext(ctx, "smtp check passed", "addr", s.cfg.addr, "tls", c.tls)
	return nil
}
