package authmailcmd

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/authmail/authmail/internal/config"
)

// TestHelpListsTheCommandsTheVariablesAndTheAdminKey: authmail help,
// --help and -h print the same text to stdout: a line for every command
// (each subcommand of a group by its full name), the variables that
// matter and where the generated admin key is.
func TestHelpListsTheCommandsTheVariablesAndTheAdminKey(t *testing.T) {
	t.Parallel()
	code, help, stderr := runArgs(t, nil, "help")
	if code != exitOK || stderr != "" {
		t.Fatalf("authmail help: exit %d, stderr %q", code, stderr)
	}
	for _, args := range [][]string{{"--help"}, {"-h"}, {"help", "help"}} {
		if code, out, _ := runArgs(t, nil, args...); code != exitOK || out != help {
			t.Errorf("authmail %v: exit %d, output differs from authmail help:\n%s", args, code, out)
		}
	}
	for _, c := range commands() {
		lines := map[string]string{c.name: c.summary}
		if len(c.subs) > 0 {
			lines = map[string]string{}
			for _, sub := range c.subs {
				lines[c.name+" "+sub.name] = sub.summary
			}
		}
		for name, summary := range lines {
			if !regexp.MustCompile(`(?m)^  ` + regexp.QuoteMeta(name) + ` +` + regexp.QuoteMeta(summary) + `$`).MatchString(help) {
				t.Errorf("help has no line for %q (%s):\n%s", name, summary, help)
			}
		}
	}
	for _, want := range []string{"AUTHMAIL_ADMIN_KEY", "AUTHMAIL_SECRET_KEY", config.EnvName("database"), config.EnvName("data-dir"),
		config.EnvName(config.PublicURL), "<data-dir>/admin-key", config.Default("data-dir") + "/admin-key"} {
		if !strings.Contains(help, want) {
			t.Errorf("help does not mention %s:\n%s", want, help)
		}
	}
}

// TestHelpCommandIsTheCommandsHelpFlag: authmail help COMMAND prints what
// COMMAND --help prints, starting with its synopsis, to stdout with exit
// code 0, for every command and subcommand.
func TestHelpCommandIsTheCommandsHelpFlag(t *testing.T) {
	t.Parallel()
	for _, c := range commands() {
		paths := [][]string{{c.name}}
		for _, sub := range c.subs {
			paths = append(paths, []string{c.name, sub.name})
		}
		for _, path := range paths {
			code, viaHelp, stderr := runArgs(t, nil, append([]string{"help"}, path...)...)
			if code != exitOK || stderr != "" || viaHelp == "" {
				t.Errorf("authmail help %v: exit %d, stdout %q, stderr %q", path, code, viaHelp, stderr)
				continue
			}
			if _, viaFlag, _ := runArgs(t, nil, append(path, "--help")...); viaFlag != viaHelp {
				t.Errorf("authmail %v --help differs from authmail help %v:\n%s\n----\n%s", path, path, viaFlag, viaHelp)
			}
		}
		if c.name == "help" {
			continue
		}
		code, out, _ := runArgs(t, nil, "help", c.name)
		usages := []string{c.usage}
		if len(c.subs) > 0 {
			usages = nil
			for _, sub := range c.subs {
				usages = append(usages, sub.usage)
			}
		}
		for _, u := range usages {
			if code != exitOK || !strings.Contains(out, "usage: "+u+"\n") {
				t.Errorf("authmail help %s does not give the synopsis %q:\n%s", c.name, u, out)
			}
		}
	}
}

// flagKinds returns the flags a help text lists, with the kind shown
// beside each.
func flagKinds(help string) map[string]string {
	out := map[string]string{}
	for _, m := range regexp.MustCompile(`(?m)^  -([a-z-]+) ?(\S*)$`).FindAllStringSubmatch(help, -1) {
		out[m[1]] = m[2]
	}
	return out
}

// TestEachCommandShowsOnlyItsOwnFlagsWithTheirKinds: serve, worker and
// migrate list only the settings they read, numbers as int and
// durations as duration, and refuse another command's flag.
func TestEachCommandShowsOnlyItsOwnFlagsWithTheirKinds(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		cmd     string
		kinds   map[string]string
		without []string
	}{
		{"serve", map[string]string{"addr": "string", "workers": "int", "first-attempt-wait": "duration", "shutdown-timeout": "duration", "data-dir": "string"}, nil},
		{"worker", map[string]string{"workers": "int", "shutdown-timeout": "duration", "data-dir": "string"}, []string{"addr", "first-attempt-wait"}},
		{"migrate", map[string]string{"database": "string", "data-dir": "string", "log-level": "string"}, []string{"addr", "workers", "first-attempt-wait", "shutdown-timeout"}},
	} {
		_, help, _ := runArgs(t, nil, "help", tc.cmd)
		got := flagKinds(help)
		for name, kind := range tc.kinds {
			if got[name] != kind {
				t.Errorf("%s --help shows -%s as %q, want %q:\n%s", tc.cmd, name, got[name], kind, help)
			}
		}
		for _, name := range tc.without {
			if _, ok := got[name]; ok {
				t.Errorf("%s --help lists -%s, which it does not read:\n%s", tc.cmd, name, help)
			}
			code, _, stderr := runArgs(t, nil, tc.cmd, "--"+name, "1")
			if code != exitUsage || !strings.Contains(stderr, "flag provided but not defined: -"+name) {
				t.Errorf("%s --%s: exit %d, stderr %q; want it refused", tc.cmd, name, code, stderr)
			}
		}
	}
	_, help, _ := runArgs(t, nil, "help", "serve")
	if !strings.Contains(help, "(default 8s)") || !strings.Contains(help, "(default 32)") {
		t.Errorf("serve --help does not show the defaults as a duration and a number:\n%s", help)
	}
	_, help, _ = runArgs(t, nil, "help", "dns", "check")
	if k := flagKinds(help); k["timeout"] != "duration" {
		t.Errorf("dns check --help shows -timeout as %q:\n%s", k["timeout"], help)
	}
	_, help, _ = runArgs(t, nil, "help", "dkim", "keygen")
	if k := flagKinds(help); k["bits"] != "int" {
		t.Errorf("dkim keygen --help shows -bits as %q:\n%s", k["bits"], help)
	}
}

// TestUnknownCommandsPointAtHelp: a name that is no command, at the top
// or under a group, exits with the usage code and names the help that
// lists the real ones.
func TestUnknownCommandsPointAtHelp(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"frobnicate"}, `authmail: unknown command "frobnicate"; run authmail help to list the commands`},
		{[]string{"help", "frobnicate"}, `authmail: unknown command "frobnicate"; run authmail help to list the commands`},
		{[]string{"dns", "lookup"}, `authmail dns: unknown command "lookup"; run authmail help dns to list the commands`},
		{[]string{"help", "dkim", "rotate"}, `authmail dkim: unknown command "rotate"; run authmail help dkim to list the commands`},
	} {
		code, stdout, stderr := runArgs(t, nil, tc.args...)
		if code != exitUsage || stdout != "" || strings.TrimSpace(stderr) != tc.want {
			t.Errorf("authmail %v: exit %d, stdout %q, stderr %q; want %d and %q", tc.args, code, stdout, stderr, exitUsage, tc.want)
		}
	}
}

// TestGroupsAlonePrintTheirUsage: dns and dkim without a subcommand print
// their subcommands' synopses to stderr and exit with the usage code.
func TestGroupsAlonePrintTheirUsage(t *testing.T) {
	t.Parallel()
	for _, c := range commands() {
		if len(c.subs) == 0 {
			continue
		}
		code, stdout, stderr := runArgs(t, nil, c.name)
		if code != exitUsage || stdout != "" {
			t.Errorf("authmail %s: exit %d, stdout %q", c.name, code, stdout)
		}
		for _, sub := range c.subs {
			if !strings.Contains(stderr, "usage: "+sub.usage) {
				t.Errorf("authmail %s does not print %q:\n%s", c.name, sub.usage, stderr)
			}
		}
	}
	if !slices.ContainsFunc(commands(), func(c command) bool { return len(c.subs) > 0 }) {
		t.Fatal("no command has subcommands; dns and dkim should")
	}
}

// TestVersionPrintsTheVersion: authmail version prints "authmail " and
// the build's version.
func TestVersionPrintsTheVersion(t *testing.T) {
	t.Parallel()
	code, stdout, _ := runArgs(t, nil, "version")
	if code != exitOK || stdout != "authmail "+buildVersion()+"\n" || buildVersion() == "" {
		t.Errorf("authmail version: exit %d, %q", code, stdout)
	}
}
