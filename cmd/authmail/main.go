// Command authmail serves email verification codes through the email
// connector of your choice.
//
//	authmail [serve] [flags]   HTTP API and delivery workers (default)
//	authmail worker [flags]    delivery workers only
//	authmail migrate [flags]   apply database migrations and exit
//	authmail dns check DOMAIN  check a sending domain's SPF, DKIM and DMARC
//	authmail dkim keygen       make a DKIM key and print its DNS record
//	authmail version
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/authmail/authmail/internal/app"
	"github.com/authmail/authmail/internal/config"
	"github.com/authmail/authmail/internal/dkimkey"
	"github.com/authmail/authmail/internal/dnscheck"
	"github.com/authmail/authmail/internal/store"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cmd := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve", "worker", "migrate":
		s, err := config.Parse(cmd, args, os.Getenv, stderr)
		if err != nil {
			if err == flag.ErrHelp {
				return 0
			}
			fmt.Fprintln(stderr, "authmail:", err)
			return 2
		}
		if cmd == "worker" && s.Workers == 0 {
			fmt.Fprintln(stderr, "authmail: worker needs --workers above 0")
			return 2
		}
		logger := newLogger(s, stderr)
		defer startCPUProfile(os.Getenv("AUTHMAIL_CPU_PROFILE"), logger)()
		if err := serve(ctx, cmd, s, logger); err != nil {
			logger.Error("stopped", "err", err)
			return 1
		}
		return 0
	case "dns":
		if len(args) == 0 || args[0] != "check" {
			fmt.Fprintln(stderr, "usage: authmail dns check DOMAIN [flags]")
			return 2
		}
		return dnscheck.DNSCheckCommand(ctx, args[1:], stdout, stderr)
	case "dkim":
		if len(args) == 0 || args[0] != "keygen" {
			fmt.Fprintln(stderr, "usage: authmail dkim keygen --domain D --selector S")
			return 2
		}
		return dkimkey.KeygenCommand(ctx, args[1:], stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "authmail", version)
		return 0
	case "help", "-h", "--help":
		fmt.Fprintln(stdout, "usage: authmail [serve|worker|migrate|dns check|dkim keygen|version] [flags]; authmail serve -h lists the flags")
		return 0
	}
	fmt.Fprintf(stderr, "authmail: unknown command %q; try authmail help\n", cmd)
	return 2
}

// startCPUProfile writes a CPU profile of the whole run to path when it
// is set (AUTHMAIL_CPU_PROFILE, undocumented in --help: it is for
// benchmarks, see BENCHMARKS.md). The returned function stops it.
func startCPUProfile(path string, logger *slog.Logger) func() {
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err != nil {
		logger.Warn("cpu profile not written", "err", err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		logger.Warn("cpu profile not written", "err", err)
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			logger.Warn("cpu profile not written", "err", err)
		}
	}
}

func newLogger(s config.Settings, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(s.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if s.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func serve(ctx context.Context, cmd string, s config.Settings, logger *slog.Logger) error {
	if cmd == "migrate" {
		st, err := store.Open(ctx, s.DatabaseURL(), logger.With("component", "store"))
		if err != nil {
			return err
		}
		defer st.Close()
		if err := st.Migrate(ctx); err != nil {
			return err
		}
		logger.Info("database is up to date", "dialect", st.Dialect())
		return nil
	}
	a, err := app.New(ctx, s, app.Options{AdminKey: os.Getenv("AUTHMAIL_ADMIN_KEY")}, logger)
	if err != nil {
		return err
	}
	if err := a.Start(ctx); err != nil {
		return fmt.Errorf("starting workers: %w", err)
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
	if cmd == "worker" {
		logger.Info("delivery workers running", "workers", s.Workers)
		<-ctx.Done()
		stop()
		return nil
	}
	ln, err := net.Listen("tcp", s.Addr)
	if err != nil {
		stop()
		return err
	}
	hs := &http.Server{Handler: a.Handler(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 60 * time.Second, IdleTimeout: 2 * time.Minute}
	logger.Info("authmail listening", "url", "http://"+ln.Addr().String(), "database", a.Store.Dialect(), "workers", s.Workers, "version", version)
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
	// HTTP and the workers share one deadline.
	stopWithin(sctx)
	return nil
}
