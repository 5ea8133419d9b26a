package authmailcmd

import (
	"context"

	"github.com/authmail/authmail/internal/store"
)

// migrateCommand is `authmail migrate`: bring the database schema up to
// date and exit (serve and worker do it on start too).
func migrateCommand() command {
	c := command{name: "migrate", usage: "authmail migrate [flags]",
		summary: "apply the database migrations and exit"}
	c.run = func(ctx context.Context, args []string, env environment) int {
		s, code, ok := settings(c.name, args, helpSummary(c.name, c.summary), env)
		if !ok {
			return code
		}
		logger := newLogger(s, env.stderr)
		defer startCPUProfile(env.getenv(cpuProfileEnv), logger)()
		st, err := store.Open(ctx, s.DatabaseURL(), logger.With("component", "store"))
		if err != nil {
			logger.Error("stopped", "err", err)
			return exitFailed
		}
		defer st.Close()
		if err := st.Migrate(ctx); err != nil {
			logger.Error("stopped", "err", err)
			return exitFailed
		}
		logger.Info("database is up to date", "dialect", st.Dialect())
		return exitOK
	}
	return c
}
