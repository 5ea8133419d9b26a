// Package authmailcmd is authmail's command line. [Main] reads the
// arguments and runs one command: serve (the default), worker, migrate,
// dns check, dkim keygen, version or help.
//
// A custom build is a main package that blank-imports the connectors it
// wants and calls Main, the way a custom Caddy is built:
//
//	package main
//
//	import (
//		authmailcmd "github.com/authmail/authmail/cmd"
//
//		_ "github.com/authmail/authmail/connectors/standard" // the built-in connectors
//		_ "example.com/yourmodule/yourconnector"            // calls connector.Register in init()
//	)
//
//	func main() { authmailcmd.Main() }
//
// cmd/authmail is exactly that, with the built-in connectors only;
// examples/customconnector is a complete custom build in its own module.
package authmailcmd

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

// Exit codes of every command.
const (
	exitOK     = 0 // done
	exitFailed = 1 // the command ran and failed
	exitUsage  = 2 // bad arguments or settings
)

// Main runs the command named by the process's arguments and exits with
// its exit code. SIGINT and SIGTERM cancel the command's context, which
// is how serve and worker shut down gracefully.
func Main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], environment{stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv})
	stop()
	os.Exit(code)
}

// environment is what a command reads and writes besides its arguments.
type environment struct {
	stdout, stderr io.Writer
	getenv         func(string) string
}

// command is one of authmail's commands.
type command struct {
	// name is the word that selects it.
	name string
	// usage is its synopsis, such as "authmail serve [flags]".
	usage string
	// summary is its line in authmail help.
	summary string
	// subs are its subcommands, for a command that is only a group of
	// them (dns, dkim); run then dispatches to them.
	subs []command
	// run runs it with the arguments after its name and returns the exit
	// code. Given -h or --help it prints its usage to stdout and returns
	// exitOK.
	run func(ctx context.Context, args []string, env environment) int
}

// commands are authmail's commands, in the order help lists them.
func commands() []command {
	return []command{serveCommand(), workerCommand(), migrateCommand(), dnsCommand(), dkimCommand(), versionCommand(), helpCommand()}
}

// lookup finds a command by name.
func lookup(name string) (command, bool) {
	for _, c := range commands() {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

// run runs the command named by args[0], or serve when args are empty or
// start with a flag; -h and --help alone are authmail help.
func run(ctx context.Context, args []string, env environment) int {
	name := "serve"
	switch {
	case len(args) == 1 && isHelpFlag(args[0]):
		name, args = "help", nil
	case len(args) > 0 && !strings.HasPrefix(args[0], "-"):
		name, args = args[0], args[1:]
	}
	c, ok := lookup(name)
	if !ok {
		return unknownCommand(env, "", name)
	}
	return c.run(ctx, args, env)
}

// unknownCommand reports a name that is not a command, pointing at the
// help that lists the real ones. parent is "" for a top-level command,
// else the command whose subcommand it was meant to be.
func unknownCommand(env environment, parent, name string) int {
	fmt.Fprintf(env.stderr, "%s: unknown command %q; run %s to list the commands\n",
		strings.TrimSpace("authmail "+parent), name, strings.TrimSpace("authmail help "+parent))
	return exitUsage
}

// isHelpFlag reports whether arg asks for help.
func isHelpFlag(arg string) bool {
	switch arg {
	case "-h", "-help", "--help", "--h":
		return true
	}
	return false
}

// group is a command that only groups subcommands, such as dns (dns
// check). Alone it prints its usage to stderr; with -h or --help, to
// stdout.
func group(name, summary string, subs ...command) command {
	c := command{name: name, usage: "authmail " + name + " COMMAND", summary: summary, subs: subs}
	c.run = func(ctx context.Context, args []string, env environment) int {
		switch {
		case len(args) == 0:
			printGroupUsage(env.stderr, c)
			return exitUsage
		case isHelpFlag(args[0]):
			printGroupUsage(env.stdout, c)
			return exitOK
		}
		for _, sub := range subs {
			if sub.name == args[0] {
				return sub.run(ctx, args[1:], env)
			}
		}
		return unknownCommand(env, name, args[0])
	}
	return c
}

// printGroupUsage prints the usage of a group's subcommands.
func printGroupUsage(w io.Writer, c command) {
	fmt.Fprintf(w, "authmail %s: %s\n\n", c.name, c.summary)
	for _, sub := range c.subs {
		fmt.Fprintf(w, "usage: %s\n", sub.usage)
	}
	fmt.Fprintln(w)
	for _, sub := range c.subs {
		fmt.Fprintf(w, "  %-14s %s\n", c.name+" "+sub.name, sub.summary)
	}
	if len(c.subs) == 1 {
		fmt.Fprintf(w, "\nauthmail help %s %s lists its flags.\n", c.name, c.subs[0].name)
	} else {
		fmt.Fprintf(w, "\nauthmail help %s COMMAND lists a command's flags.\n", c.name)
	}
}

// parseFlags parses args with fs, which must not have an output of its
// own. It returns ok when the command should go on. Otherwise code is
// the exit code: help asked for with -h or --help is printed to stdout
// after summary (exitOK); a flag mistake is printed with the usage to
// stderr (exitUsage).
func parseFlags(fs *flag.FlagSet, args []string, summary string, env environment) (code int, ok bool) {
	var out bytes.Buffer
	fs.SetOutput(&out)
	err := fs.Parse(args)
	return flagResult(err, &out, summary, env)
}

// flagResult turns the result of a flag parse whose output went to out
// into parseFlags's result.
func flagResult(err error, out *bytes.Buffer, summary string, env environment) (code int, ok bool) {
	switch {
	case err == nil:
		return exitOK, true
	case errors.Is(err, flag.ErrHelp):
		if summary != "" {
			fmt.Fprintf(env.stdout, "%s\n\n", summary)
		}
		_, _ = out.WriteTo(env.stdout)
		return exitOK, false
	default:
		_, _ = out.WriteTo(env.stderr)
		return exitUsage, false
	}
}
