package authmailcmd

import (
	"context"
	"fmt"
	"io"

	"github.com/authmail/authmail/internal/config"
	"github.com/authmail/authmail/internal/dnscheck"
)

// secretKeyEnv names the variable holding the key that seals secrets at
// rest; without it the first start generates one into the data dir.
const secretKeyEnv = "AUTHMAIL_SECRET_KEY"

// helpSummary is the line a command's help starts with.
func helpSummary(name, summary string) string {
	return "authmail " + name + ": " + summary
}

// helpCommand is `authmail help [COMMAND]`: the list of commands, or one
// command's usage and flags (the same as COMMAND --help).
func helpCommand() command {
	c := command{name: "help", usage: "authmail help [COMMAND]",
		summary: "list the commands, or show a command's flags: authmail help COMMAND"}
	c.run = func(ctx context.Context, args []string, env environment) int {
		if len(args) == 0 || args[0] == c.name || isHelpFlag(args[0]) {
			printHelp(env.stdout)
			return exitOK
		}
		sub, ok := lookup(args[0])
		if !ok {
			return unknownCommand(env, "", args[0])
		}
		return sub.run(ctx, append(args[1:len(args):len(args)], "--help"), env)
	}
	return c
}

// printHelp prints the commands, the variables that matter most and
// where the generated keys are.
func printHelp(w io.Writer) {
	dataDir := config.Default("data-dir")
	fmt.Fprint(w, `authmail sends one-time codes by email, through the email connector of your choice.

usage: authmail [COMMAND] [flags]

Commands:
`)
	for _, c := range commands() {
		if len(c.subs) == 0 {
			fmt.Fprintf(w, "  %-13s %s\n", c.name, c.summary)
			continue
		}
		for _, sub := range c.subs {
			fmt.Fprintf(w, "  %-13s %s\n", c.name+" "+sub.name, sub.summary)
		}
	}
	vars := []struct{ name, text string }{
		{adminKeyEnv, "the admin key (16 characters or more); without it the first start generates one"},
		{secretKeyEnv, "64 hex digits sealing secrets at rest; without it the first start generates one"},
		{config.EnvName("database"), "sqlite://PATH or postgres://USER:PASS@HOST:5432/DB [SQLite in the data dir]"},
		{config.EnvName("data-dir"), "the data dir: the SQLite database and the generated keys [" + dataDir + "]"},
		{config.EnvName("addr"), "the HTTP listen address [" + config.Default("addr") + "]"},
		{config.EnvName(config.PublicURL), "the URL apps reach authmail at; the OIDC issuer is it + /oidc [http:// + the listen address]"},
		{config.EnvName("config"), "a YAML file of settings, keyed by flag name"},
		{dnscheck.ResolverEnv, "the nameserver dns check asks [the system's]"},
	}
	fmt.Fprint(w, "\nEnvironment (each flag has one: --log-level is "+config.EnvName("log-level")+"):\n")
	for _, v := range vars {
		fmt.Fprintf(w, "  %-23s %s\n", v.name, v.text)
	}
	fmt.Fprintf(w, `
The first start writes the admin key it generates to <data-dir>/admin-key (%s/admin-key
by default) and the secret key to <data-dir>/secret-key, both mode 0600. Processes sharing
one database need the same %s and %s.

authmail COMMAND --help, or authmail help COMMAND, shows a command's flags.
`, dataDir, adminKeyEnv, secretKeyEnv)
}
