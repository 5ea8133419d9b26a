package authmailcmd

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/pprof"

	"github.com/authmail/authmail/internal/config"
)

// settings reads the settings of the server commands (serve, worker,
// migrate) from args, the environment and the --config file. ok is false
// when the command must stop, and code is then its exit code: help is
// printed to stdout after summary, a mistake to stderr.
func settings(name string, args []string, summary string, env environment) (s config.Settings, code int, ok bool) {
	var out bytes.Buffer
	s, err := config.Parse(name, args, env.getenv, &out)
	if err == nil || errors.Is(err, flag.ErrHelp) {
		code, ok = flagResult(err, &out, summary, env)
		return s, code, ok
	}
	_, _ = out.WriteTo(env.stderr)
	fmt.Fprintln(env.stderr, "authmail:", err)
	return s, exitUsage, false
}

// newLogger is the server commands' logger, writing to w in the
// configured format and level.
func newLogger(s config.Settings, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(s.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if s.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// cpuProfileEnv names the file a server command writes a CPU profile of
// its whole run to. It is for benchmarks (see BENCHMARKS.md), so help
// does not list it.
const cpuProfileEnv = "AUTHMAIL_CPU_PROFILE"

// startCPUProfile writes a CPU profile of the whole run to path when it
// is set. The returned function stops it.
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
