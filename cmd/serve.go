package authmailcmd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"syscall"
	"time"

	"github.com/authmail/authmail/internal/app"
	"github.com/authmail/authmail/internal/config"
	"github.com/authmail/authmail/internal/dnscheck"
)

// adminKeyEnv names the variable holding the admin key to accept; without
// it the first start generates one into the data dir.
const adminKeyEnv = "AUTHMAIL_ADMIN_KEY"

// serveCommand is `authmail serve`: the HTTP API and the delivery workers
// in one process.
func serveCommand() command {
	c := command{name: "serve", usage: "authmail serve [flags]",
		summary: "serve the HTTP API and run the delivery workers (the default command)"}
	c.run = func(ctx context.Context, args []string, env environment) int {
		s, code, ok := settings(c.name, args, helpSummary(c.name, c.summary), env)
		if !ok {
			return code
		}
		logger := newLogger(s, env.stderr)
		// The OpenID Connect library logs through slog's default logger.
		slog.SetDefault(logger.With("component", "oidc"))
		defer startCPUProfile(env.getenv(cpuProfileEnv), logger)()
		// Listen first: a busy address must stop the start before the
		// database or any key is written to the data dir.
		ln, err := listen(s.Addr)
		if err != nil {
			logger.Error("stopped", "err", err)
			return exitFailed
		}
		// The address bound (a port of 0 is now a number): the outbound
		// policy keeps connectors off it.
		s.Addr = ln.Addr().String()
		if err := runApp(ctx, s, env, logger, ln); err != nil {
			logger.Error("stopped", "err", err)
			return exitFailed
		}
		return exitOK
	}
	return c
}

// listen opens the HTTP listener, saying how to pick another address when
// this one cannot be had.
func listen(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	switch {
	case err == nil:
		return ln, nil
	case errors.Is(err, syscall.EADDRINUSE):
		return nil, fmt.Errorf("%s is already in use by another process; choose another address with --addr or %s",
			addr, config.EnvName("addr"))
	default:
		return nil, fmt.Errorf("cannot listen on %s: %w; choose another address with --addr or %s", addr, err, config.EnvName("addr"))
	}
}

// runApp builds authmail from s and runs it until ctx ends: the delivery
// workers and, when ln is not nil, the HTTP API on ln (which it closes).
// At the end, HTTP requests and in-flight sends share one shutdown
// deadline.
func runApp(ctx context.Context, s config.Settings, env environment, logger *slog.Logger, ln net.Listener) error {
	a, err := app.New(ctx, s, app.Options{AdminKey: env.getenv(adminKeyEnv), SecretKeyText: env.getenv(secretKeyEnv),
		DNSResolver: env.getenv(dnscheck.ResolverEnv)}, logger)
	if err != nil {
		if ln != nil {
			ln.Close()
		}
		return err
	}
	stopWithin := func(sctx context.Context) {
		if err := a.Stop(sctx); err != nil {
			logger.Warn("stopping", "err", err)
		}
	}
	stop := func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.ShutdownTimeout)
		defer cancel()
		stopWithin(sctx)
	}
	if err := a.Start(ctx); err != nil {
		if ln != nil {
			ln.Close()
		}
		return fmt.Errorf("starting workers: %w", err)
	}
	if ln == nil {
		logger.Info("delivery workers running", "workers", s.Workers)
		<-ctx.Done()
		stop()
		return nil
	}
	hs := &http.Server{Handler: a.Handler(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 60 * time.Second, IdleTimeout: 2 * time.Minute}
	logger.Info("authmail listening", "url", "http://"+ln.Addr().String(), "publicURL", a.PublicURL, "database", a.Store.Dialect(), "workers", s.Workers, "version", buildVersion())
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		stop()
		return err
	case <-ctx.Done():
	}
	logger.Info("shutting down: finishing in-flight requests and sends")
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.ShutdownTimeout)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		logger.Warn("http shutdown", "err", err)
	}
	stopWithin(sctx)
	return nil
}
