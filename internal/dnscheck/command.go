package dnscheck

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/authmail/authmail/connector"
)

// ResolverEnv names the environment variable that sets the default
// nameserver for DNSCheckCommand.
const ResolverEnv = "AUTHMAIL_DNS_RESOLVER"

// Exit codes of DNSCheckCommand.
const (
	ExitOK     = 0 // every check passed or warned
	ExitFailed = 1 // a check failed or could not be done
	ExitUsage  = 2 // bad arguments
)

// DNSCheckCommand implements `authmail dns check DOMAIN [--selector S]
// [--from ADDRESS] [--provider ID] [--smtp-host H] [--dkim-key FILE]
// [--resolver HOST:PORT] [--timeout 5s] [--format text|json]`. args are
// the arguments after "check" (a leading "check" is skipped); flags may
// come before or after DOMAIN. --resolver defaults to $AUTHMAIL_DNS_RESOLVER,
// then to the first nameserver of /etc/resolv.conf. The JSON format is the
// Report, as the HTTP API returns it. It returns ExitOK when no check
// fails, ExitFailed when one fails or could not be done (a DNS timeout is
// never a pass), and ExitUsage on a usage error.
func DNSCheckCommand(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "check" {
		args = args[1:]
	}
	fset := flag.NewFlagSet("authmail dns check", flag.ContinueOnError)
	fset.SetOutput(stderr)
	var (
		o        Options
		keyFile  string
		resolver = fset.String("resolver", os.Getenv(ResolverEnv), "nameserver HOST:PORT (default $"+ResolverEnv+", else /etc/resolv.conf)")
		timeout  = fset.Duration("timeout", DefaultTimeout, "timeout of each DNS query")
		format   = fset.String("format", "text", "output format: text or json")
	)
	fset.StringVar(&o.Selector, "selector", "", "DKIM selector")
	fset.StringVar(&o.From, "from", "", "From address (default: the domain)")
	fset.StringVar(&o.Provider, "provider", "", "connector ID: "+strings.Join(HintProviders(), ", "))
	fset.StringVar(&o.SMTPHost, "smtp-host", "", "SMTP relay host that SPF must authorise")
	fset.StringVar(&keyFile, "dkim-key", "", "PEM private key file the DKIM record must match")
	fset.Usage = func() {
		fmt.Fprintln(stderr, "usage: authmail dns check DOMAIN [--selector S] [--from ADDRESS] [--provider ID] [--smtp-host H] [--dkim-key FILE] [--resolver HOST:PORT] [--timeout 5s] [--format text|json]")
		fset.PrintDefaults()
	}
	var positional []string
	for {
		if err := fset.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return ExitOK
			}
			return ExitUsage
		}
		if fset.NArg() == 0 {
			break
		}
		positional = append(positional, fset.Arg(0))
		args = fset.Args()[1:]
	}
	usage := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "authmail dns check: "+format+"\n", a...)
		return ExitUsage
	}
	switch {
	case len(positional) > 1:
		return usage("expected one DOMAIN, got %q", positional)
	case len(positional) == 1:
		o.Domain = positional[0]
	case o.From == "":
		return usage("a DOMAIN (or --from ADDRESS) is required")
	}
	if *format != "text" && *format != "json" {
		return usage("--format must be text or json, not %q", *format)
	}
	if o.Provider != "" {
		if _, ok := Hints(o.Provider); !ok {
			return usage("--provider %q has no DNS hints; known: %s", o.Provider, strings.Join(HintProviders(), ", "))
		}
	}
	if keyFile != "" {
		pem, err := os.ReadFile(keyFile)
		if err != nil {
			return usage("--dkim-key: %v", err)
		}
		o.DKIMPrivateKey = connector.Secret(pem)
	}
	if err := o.Validate(); err != nil {
		return usage("%v", err)
	}
	r, err := NewResolver(*resolver, *timeout)
	if err != nil {
		fmt.Fprintf(stderr, "authmail dns check: %v (set --resolver HOST:PORT or %s)\n", err, ResolverEnv)
		return ExitUsage
	}
	rep := Check(ctx, r, o)
	if *format == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		err = enc.Encode(rep)
	} else {
		err = WriteText(stdout, rep)
	}
	if err != nil {
		fmt.Fprintf(stderr, "authmail dns check: writing report: %v\n", err)
		return ExitFailed
	}
	if rep.Failed() {
		return ExitFailed
	}
	return ExitOK
}
