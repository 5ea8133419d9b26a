package authmailcmd

import (
	"context"
	"flag"
	"fmt"
	"runtime/debug"
)

// modulePath is authmail's module, whose version a build reports.
const modulePath = "github.com/authmail/authmail"

// version, when set at build time with
// -ldflags "-X github.com/authmail/authmail/cmd.version=v1.2.3",
// is the version every build of this package reports.
var version string

// buildVersion is the version to report: the one set at build time, else
// the authmail module's version recorded in the binary (a custom build
// reports the authmail release it was built with), else "dev".
func buildVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		v := bi.Main.Version
		if bi.Main.Path != modulePath {
			v = ""
			for _, dep := range bi.Deps {
				if dep.Path == modulePath {
					v = dep.Version
					if dep.Replace != nil {
						v = dep.Replace.Version // "" for a local directory
					}
				}
			}
		}
		if v != "" && v != "(devel)" {
			return v
		}
	}
	return "dev"
}

// versionCommand is `authmail version`.
func versionCommand() command {
	c := command{name: "version", usage: "authmail version", summary: "print authmail's version"}
	c.run = func(_ context.Context, args []string, env environment) int {
		fs := flag.NewFlagSet("authmail version", flag.ContinueOnError)
		fs.Usage = func() { fmt.Fprintln(fs.Output(), "usage: "+c.usage) }
		if code, ok := parseFlags(fs, args, helpSummary(c.name, c.summary), env); !ok {
			return code
		}
		if fs.NArg() > 0 {
			fmt.Fprintf(env.stderr, "authmail version: unexpected argument %q\n", fs.Arg(0))
			return exitUsage
		}
		fmt.Fprintln(env.stdout, "authmail", buildVersion())
		return exitOK
	}
	return c
}
