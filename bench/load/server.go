package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, to create the run's schema

	_ "github.com/authmail/authmail/connectors/standard" // the connectors the in-process app needs
	"github.com/authmail/authmail/internal/app"
	"github.com/authmail/authmail/internal/config"
)

// server is a running authmail under test.
type server struct {
	baseURL  string
	adminKey string
	pid      int // the process measured for CPU and memory
	stop     func()
}

// publicRequestLimit is the per-client cap on the public sign-in routes
// the server runs with: its highest value, since every request of a run
// comes from one address.
const publicRequestLimit = 1000000

// randomHex returns n random bytes, hex encoded.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// prepareDatabase returns the database URL of this run and a function
// that removes it: a SQLite file in a temporary folder, or a fresh schema
// in the PostgreSQL database.
func prepareDatabase(ctx context.Context, o options) (string, func(), error) {
	if o.db == "sqlite" {
		// The server's data dir holds the file; startServer picks it.
		return "", func() {}, nil
	}
	schema := "bench_" + randomHex(5)
	admin, err := sql.Open("pgx", o.databaseURL)
	if err != nil {
		return "", nil, fmt.Errorf("opening %s: %w", o.databaseURL, err)
	}
	if _, err := admin.ExecContext(ctx, `CREATE SCHEMA `+schema); err != nil {
		admin.Close()
		return "", nil, fmt.Errorf("creating schema %s: %w", schema, err)
	}
	drop := func() {
		dctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := admin.ExecContext(dctx, `DROP SCHEMA `+schema+` CASCADE`); err != nil {
			fmt.Fprintf(os.Stderr, "load: dropping schema %s: %v\n", schema, err)
		}
		admin.Close()
	}
	u, err := url.Parse(o.databaseURL)
	if err != nil {
		drop()
		return "", nil, err
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), drop, nil
}

// loopback is what the tool lets authmail's connectors reach
// (--allow-endpoints): the SMTP sink and receivers it runs on loopback.
const loopback = "127.0.0.0/8,::1"

// freeAddr returns a free loopback address.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func startServer(ctx context.Context, o options, dbURL string, logOut io.Writer) (*server, error) {
	dir, err := os.MkdirTemp("", "authmail-load-")
	if err != nil {
		return nil, err
	}
	if dbURL == "" {
		dbURL = "sqlite://" + filepath.Join(dir, "authmail.db")
	}
	addr, err := freeAddr()
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	adminKey, secret := "am_bench_"+randomHex(16), randomHex(32)
	var s *server
	if o.mode == "inproc" {
		s, err = startInproc(ctx, o, dir, dbURL, addr, adminKey, secret, logOut)
	} else {
		s, err = startBinary(ctx, o, dir, dbURL, addr, adminKey, secret, logOut)
	}
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	s.adminKey = adminKey
	stop := s.stop
	s.stop = func() { stop(); os.RemoveAll(dir) }
	if err := waitReady(ctx, s.baseURL); err != nil {
		s.stop()
		return nil, err
	}
	return s, nil
}

// startBinary builds ./cmd/authmail (or takes the -server binary) and
// runs it.
func startBinary(ctx context.Context, o options, dir, dbURL, addr, adminKey, secret string, logOut io.Writer) (*server, error) {
	bin := o.server
	if bin == "" {
		root, err := moduleRoot(ctx)
		if err != nil {
			return nil, err
		}
		bin = filepath.Join(dir, "authmail")
		build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/authmail")
		build.Dir = root
		if out, err := build.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("building authmail: %v\n%s", err, out)
		}
	}
	cmd := exec.Command(bin, "serve", "--data-dir", dir, "--database", dbURL, "--addr", addr,
		"--log-level", "warn", "--workers", strconv.Itoa(o.workers))
	// The variable rather than the flag, so that a build older than the
	// setting (-server) still starts.
	cmd.Env = append(os.Environ(), "AUTHMAIL_ADMIN_KEY="+adminKey, "AUTHMAIL_SECRET_KEY="+secret,
		config.EnvName(config.AllowEndpoints)+"="+loopback,
		// Every sign-in of a run comes from 127.0.0.1: the per-client cap
		// is still counted on every request, at its highest value.
		config.EnvName(config.PublicRequestLimit)+"="+strconv.Itoa(publicRequestLimit))
	if o.cpuProfile != "" {
		abs, err := filepath.Abs(o.cpuProfile)
		if err != nil {
			return nil, err
		}
		cmd.Env = append(cmd.Env, "AUTHMAIL_CPU_PROFILE="+abs)
	}
	cmd.Stdout, cmd.Stderr = logOut, logOut
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting authmail: %w", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	stop := func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	}
	return &server{baseURL: "http://" + addr, pid: cmd.Process.Pid, stop: stop}, nil
}

// moduleRoot is the folder of go.mod, so the tool runs from anywhere in
// the repository.
func moduleRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("finding the module: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("run the load tool from inside the authmail repository")
	}
	return filepath.Dir(mod), nil
}

// startInproc runs the app inside this process.
func startInproc(ctx context.Context, o options, dir, dbURL, addr, adminKey, secret string, logOut io.Writer) (*server, error) {
	logger := slog.New(slog.NewTextHandler(logOut, &slog.HandlerOptions{Level: slog.LevelWarn}))
	key, err := hex.DecodeString(secret)
	if err != nil {
		return nil, err
	}
	allow, err := config.ParsePrefixes(loopback)
	if err != nil {
		return nil, err
	}
	s := config.Settings{Addr: addr, DataDir: dir, Database: dbURL, Workers: o.workers, FirstAttemptWait: 8 * time.Second,
		AllowEndpoints: allow, PublicRequestLimit: publicRequestLimit}
	a, err := app.New(ctx, s, app.Options{SecretKey: key, AdminKey: adminKey}, logger)
	if err != nil {
		return nil, err
	}
	if err := a.Start(ctx); err != nil {
		a.Stop(ctx)
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		a.Stop(ctx)
		return nil, err
	}
	hs := &http.Server{Handler: a.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = hs.Serve(ln) }()
	stop := func() {
		sctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		_ = hs.Shutdown(sctx)
		_ = a.Stop(sctx)
	}
	return &server{baseURL: "http://" + addr, pid: os.Getpid(), stop: stop}, nil
}

// waitReady polls /readyz for up to 30 seconds.
func waitReady(ctx context.Context, base string) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		req, _ := http.NewRequestWithContext(ctx, "GET", base+"/readyz", nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return errors.New("authmail did not become ready within 30s")
}

// clockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat;
// it is 100 on every Linux architecture Go supports.
const clockTicks = 100

// cpuTime is the process's user plus system CPU time so far.
func (s *server) cpuTime() time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.pid))
	if err != nil {
		return 0
	}
	// Fields after the command name (which may hold spaces) start at ")".
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64) // field 14, utime
	st, _ := strconv.ParseInt(f[12], 10, 64) // field 15, stime
	return time.Duration(ut+st) * time.Second / clockTicks
}

// memory returns the peak (VmHWM) and current (VmRSS) resident set in MB.
func (s *server) memory() (peak, now float64) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.pid))
	if err != nil {
		return 0, 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
		switch k {
		case "VmHWM":
			peak = kb / 1024
		case "VmRSS":
			now = kb / 1024
		}
	}
	return peak, now
}

// machineCPU is the CPU time every process on the machine has used so
// far (user, nice, system, irq, softirq and steal from /proc/stat), and
// the number of CPUs.
func machineCPU() time.Duration {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0
	}
	var ticks int64
	for _, i := range []int{1, 2, 3, 6, 7, 8} {
		v, _ := strconv.ParseInt(f[i], 10, 64)
		ticks += v
	}
	return time.Duration(ticks) * time.Second / clockTicks
}
