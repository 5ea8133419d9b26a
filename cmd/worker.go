package authmailcmd

import (
	"context"
	"fmt"
)

// workerCommand is `authmail worker`: the delivery workers without HTTP,
// to scale them apart from the API (serve --workers 0 is the API alone).
func workerCommand() command {
	c := command{name: "worker", usage: "authmail worker [flags]",
		summary: "run the delivery workers only, to scale them apart from the HTTP API"}
	c.run = func(ctx context.Context, args []string, env environment) int {
		s, code, ok := settings(c.name, args, helpSummary(c.name, c.summary), env)
		if !ok {
			return code
		}
		if s.Workers == 0 {
			fmt.Fprintln(env.stderr, "authmail: worker needs --workers above 0")
			return exitUsage
		}
		logger := newLogger(s, env.stderr)
		defer startCPUProfile(env.getenv(cpuProfileEnv), logger)()
		if err := runApp(ctx, s, env, logger, nil); err != nil {
			logger.Error("stopped", "err", err)
			return exitFailed
		}
		return exitOK
	}
	return c
}
