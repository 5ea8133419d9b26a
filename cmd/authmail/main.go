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
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"authmail/connector"
	_ "authmail/connectors/standard"
	"authmail/internal/api"
	"authmail/internal/config"
	"authmail/internal/delivery"
	"authmail/internal/dkimkey"
	"authmail/internal/dnscheck"
	"authmail/internal/keyring"
	"authmail/internal/store"
	"authmail/internal/verification"
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
			if errors.Is(err, flagHelp) {
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

var flagHelp = errors.New("flag: help requested")

func newLogger(s config.Settings, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(s.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if s.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// secretKey reads AUTHMAIL_SECRET_KEY, or the key file in the data dir,
// generating it on first start.
func secretKey(dataDir string, logger *slog.Logger) (*keyring.Keyring, error) {
	if v := os.Getenv("AUTHMAIL_SECRET_KEY"); v != "" {
		b, err := keyring.ParseKey(v)
		if err != nil {
			return nil, fmt.Errorf("AUTHMAIL_SECRET_KEY: %w", err)
		}
		return keyring.New(b)
	}
	path := filepath.Join(dataDir, "secret-key")
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(dataDir, 0o700); err != nil {
			return nil, err
		}
		key := keyring.NewKey()
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, fmt.Errorf("writing %s: %w", path, err)
		}
		if _, err := f.WriteString(key + "\n"); err != nil {
			f.Close()
			return nil, err
		}
		if err := f.Close(); err != nil {
			return nil, err
		}
		logger.Info("generated the secret key that seals secrets at rest; back it up", "path", path)
		b = []byte(key)
	} else if err != nil {
		return nil, err
	}
	raw, err := keyring.ParseKey(string(b))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return keyring.New(raw)
}

func serve(ctx context.Context, cmd string, s config.Settings, logger *slog.Logger) error {
	st, err := store.Open(ctx, s.DatabaseURL(), logger.With("component", "store"))
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		return err
	}
	if cmd == "migrate" {
		logger.Info("database is up to date", "dialect", st.Dialect())
		return nil
	}
	keys, err := secretKey(s.DataDir, logger)
	if err != nil {
		return err
	}
	now := func() time.Time { return time.Now().UTC() }
	if err := bootstrap(ctx, st, s, keys, logger, now); err != nil {
		return err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	conns := delivery.NewConnectors(st, keys, logger, now)
	defer conns.Close()
	workers := s.Workers
	dl, err := delivery.New(st, keys, conns, delivery.NewMetrics(reg, st), logger, now,
		delivery.Config{Workers: workers, FirstAttemptWait: s.FirstAttemptWait})
	if err != nil {
		return err
	}
	if err := dl.Start(ctx); err != nil {
		return fmt.Errorf("starting workers: %w", err)
	}
	shutdown := func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.ShutdownTimeout)
		defer cancel()
		if err := dl.Stop(sctx); err != nil {
			logger.Warn("stopping workers", "err", err)
		}
	}
	if cmd == "worker" {
		logger.Info("delivery workers running", "workers", workers)
		<-ctx.Done()
		shutdown()
		return nil
	}
	srv := api.New(api.Deps{Store: st, Keys: keys, Connectors: conns, Delivery: dl,
		Verification: verification.New(keys, now), Registry: reg, Logger: logger, Now: now})
	ln, err := net.Listen("tcp", s.Addr)
	if err != nil {
		shutdown()
		return err
	}
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 60 * time.Second, IdleTimeout: 2 * time.Minute}
	logger.Info("authmail listening", "url", "http://"+ln.Addr().String(), "database", st.Dialect(), "workers", workers, "version", version)
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		shutdown()
		return err
	case <-ctx.Done():
	}
	logger.Info("shutting down: finishing in-flight requests and sends")
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.ShutdownTimeout)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		logger.Warn("http shutdown", "err", err)
	}
	shutdown()
	return nil
}

// bootstrap provisions the admin key and, on a fresh install, the dev
// inbox connector, so everything works with no provider.
func bootstrap(ctx context.Context, st *store.Store, s config.Settings, keys *keyring.Keyring, logger *slog.Logger, now func() time.Time) error {
	fresh, err := api.EnsureAdminKey(ctx, st, os.Getenv("AUTHMAIL_ADMIN_KEY"), now())
	if err != nil {
		return fmt.Errorf("provisioning the admin key: %w", err)
	}
	keyPath := filepath.Join(s.DataDir, "admin-key")
	if fresh != "" {
		if err := os.MkdirAll(s.DataDir, 0o700); err != nil {
			return err
		}
		if err := os.WriteFile(keyPath, []byte(fresh+"\n"), 0o600); err != nil {
			return fmt.Errorf("writing the admin key: %w", err)
		}
		logger.Info("generated the admin key; it is written once, to this file", "path", keyPath)
	} else if os.Getenv("AUTHMAIL_ADMIN_KEY") == "" {
		logger.Info("admin key", "path", keyPath)
	}
	conns, err := st.ConnectorList(ctx, api.DefaultTenant)
	if err != nil {
		return err
	}
	if fresh != "" && len(conns) == 0 {
		f, _ := connector.Lookup("dev-inbox")
		id := delivery.NewID("conn")
		raw := []byte(`{}`)
		row := store.Connector{TenantID: api.DefaultTenant, ID: id, ConnectorID: f.ID,
			Config: keys.Seal(raw, "connector:"+api.DefaultTenant+":"+id), CreatedAt: now(), UpdatedAt: now()}
		if err := st.WriteQ().ConnectorReplace(ctx, row); err != nil {
			return err
		}
		conns = append(conns, row)
	}
	for _, c := range conns {
		if c.ConnectorID == "dev-inbox" {
			logger.Warn("the dev inbox connector is active: mail is kept in the database, not sent; read it at GET /api/dev-inbox/messages and set a real connector before production")
		}
	}
	return nil
}
