package authmailcmd

import (
	"errors"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/authmail/authmail/internal/config"
)

// TestServeOnABusyAddressWritesNothing: when the listen address is taken,
// serve (named or as the default command) exits with exitFailed, says the
// address is in use and how to choose another, and has not created the
// data dir: no database, no secret key, no admin key.
func TestServeOnABusyAddressWritesNothing(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	addr := ln.Addr().String()
	for _, tc := range []struct {
		name string
		args []string
		vars map[string]string
	}{
		{"Flag", []string{"serve", "--addr", addr}, nil},
		{"DefaultCommand", []string{"--addr", addr}, nil},
		{"Environment", []string{"serve"}, map[string]string{config.EnvName("addr"): addr}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dataDir := filepath.Join(t.TempDir(), "data")
			code, stdout, stderr := runArgs(t, tc.vars, append(tc.args, "--data-dir", dataDir)...)
			if code != exitFailed {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, exitFailed, stderr)
			}
			for _, want := range []string{addr + " is already in use", "--addr or AUTHMAIL_ADDR"} {
				if !strings.Contains(stderr, want) {
					t.Errorf("stderr does not say %q:\n%s%s", want, stdout, stderr)
				}
			}
			if _, err := os.Stat(dataDir); !errors.Is(err, fs.ErrNotExist) {
				entries, _ := os.ReadDir(dataDir)
				t.Errorf("the data dir was created (%v): %v", err, entries)
			}
		})
	}
}
