package authmailcmd

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/authmail/authmail/connector"
	"github.com/authmail/authmail/internal/dnscheck"
)

// dnsCommand is `authmail dns`, whose one subcommand is check.
func dnsCommand() command {
	return group("dns", "check a sending domain's DNS records", dnsCheckCommand())
}

// dnsCheckCommand is `authmail dns check DOMAIN [--selector S] [--from
// ADDRESS] [--provider ID] [--smtp-host H] [--dkim-key FILE] [--resolver
// HOST:PORT] [--timeout 5s] [--format text|json]`; flags may come before
// or after DOMAIN. --resolver defaults to $AUTHMAIL_DNS_RESOLVER, then to
// the first nameserver of /etc/resolv.conf. The JSON format is the
// dnscheck.Report, as the HTTP API returns it. It exits with exitOK when
// no check fails, exitFailed when one fails or could not be done (a DNS
// timeout is never a pass), and exitUsage on a usage error.
func dnsCheckCommand() command {
	c := command{name: "check",
		usage:   "authmail dns check DOMAIN [--selector S] [--from ADDRESS] [--provider ID] [--smtp-host H] [--dkim-key FILE] [--resolver HOST:PORT] [--timeout 5s] [--format text|json]",
		summary: "check a sending domain's SPF, DKIM, DMARC, alignment and MX records"}
	c.run = func(ctx context.Context, args []string, env environment) int {
		fset := flag.NewFlagSet("authmail dns check", flag.ContinueOnError)
		var (
			o        dnscheck.Options
			keyFile  string
			resolver = fset.String("resolver", env.getenv(dnscheck.ResolverEnv), "nameserver HOST:PORT (default $"+dnscheck.ResolverEnv+", else /etc/resolv.conf)")
			timeout  = fset.Duration("timeout", dnscheck.DefaultTimeout, "timeout of each DNS query")
			format   = fset.String("format", "text", "output format: text or json")
		)
		fset.StringVar(&o.Selector, "selector", "", "DKIM selector")
		fset.StringVar(&o.From, "from", "", "From address (default: the domain)")
		fset.StringVar(&o.Provider, "provider", "", "connector ID or alias: "+strings.Join(dnscheck.Providers(), ", "))
		fset.StringVar(&o.SMTPHost, "smtp-host", "", "SMTP relay host that SPF must authorise")
		fset.StringVar(&keyFile, "dkim-key", "", "PEM private key file the DKIM record must match")
		var out bytes.Buffer
		fset.SetOutput(&out)
		fset.Usage = func() {
			fmt.Fprintln(&out, "usage: "+c.usage)
			fset.PrintDefaults()
		}
		// Flags may follow DOMAIN: parse again after each positional argument.
		var positional []string
		for {
			if code, ok := flagResult(fset.Parse(args), &out, helpSummary("dns "+c.name, c.summary), env); !ok {
				return code
			}
			if fset.NArg() == 0 {
				break
			}
			positional = append(positional, fset.Arg(0))
			args = fset.Args()[1:]
		}
		usage := func(format string, a ...any) int {
			fmt.Fprintf(env.stderr, "authmail dns check: "+format+"\n", a...)
			return exitUsage
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
		if o.Provider != "" && !dnscheck.KnownProvider(o.Provider) {
			return usage("--provider %q is not a connector ID or alias; known: %s", o.Provider, strings.Join(dnscheck.Providers(), ", "))
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
		r, err := dnscheck.NewResolver(*resolver, *timeout)
		if err != nil {
			fmt.Fprintf(env.stderr, "authmail dns check: %v (set --resolver HOST:PORT or %s)\n", err, dnscheck.ResolverEnv)
			return exitUsage
		}
		rep := dnscheck.Check(ctx, r, o)
		if *format == "json" {
			enc := json.NewEncoder(env.stdout)
			enc.SetIndent("", "  ")
			err = enc.Encode(rep)
		} else {
			err = dnscheck.WriteText(env.stdout, rep)
		}
		if err != nil {
			fmt.Fprintf(env.stderr, "authmail dns check: writing report: %v\n", err)
			return exitFailed
		}
		if rep.Failed() {
			return exitFailed
		}
		return exitOK
	}
	return c
}
