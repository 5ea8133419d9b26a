package authmailcmd

import (
	"bytes"
	"context"
	"testing"
	"time"
)

// runArgs runs authmail in this process with args, seeing only the
// environment variables in vars, and returns the exit code, stdout and
// stderr.
func runArgs(t *testing.T, vars map[string]string, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	code := run(ctx, args, environment{stdout: &stdout, stderr: &stderr, getenv: func(k string) string { return vars[k] }})
	return code, stdout.String(), stderr.String()
}
