package authmailcmd

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"

	"github.com/authmail/authmail/internal/dkimkey"
)

// dkimRecordTTL is the TTL of the zone-file line dkim keygen prints.
const dkimRecordTTL = 3600

// dkimCommand is `authmail dkim`, whose one subcommand is keygen.
func dkimCommand() command {
	return group("dkim", "make DKIM keys for the SMTP connector", dkimKeygenCommand())
}

// dkimKeygenCommand is `authmail dkim keygen --domain D --selector S
// [--type rsa|ed25519] [--bits 2048] [--out FILE]`. It writes the private
// key to FILE with mode 0600, refusing to overwrite one, and prints the
// record to publish. It exits with exitOK on success, exitFailed when the
// key cannot be written and exitUsage on a usage error.
func dkimKeygenCommand() command {
	c := command{name: "keygen",
		usage:   "authmail dkim keygen --domain D --selector S [--type rsa|ed25519] [--bits 2048] [--out FILE]",
		summary: "make a DKIM key for the SMTP connector and print the DNS record to publish"}
	c.run = func(ctx context.Context, args []string, env environment) int {
		fset := flag.NewFlagSet("authmail dkim keygen", flag.ContinueOnError)
		domain := fset.String("domain", "", "signing domain (d=), such as auth.example.com")
		selector := fset.String("selector", "", "selector (s=), such as authmail1")
		algo := fset.String("type", "rsa", "key type: rsa or ed25519")
		bits := fset.Int("bits", dkimkey.DefaultRSABits, "RSA key size in bits (2048 or more)")
		out := fset.String("out", "", "private key file to write (default SELECTOR._domainkey.DOMAIN.pem)")
		var help bytes.Buffer
		fset.SetOutput(&help)
		fset.Usage = func() {
			fmt.Fprintln(&help, "usage: "+c.usage)
			fset.PrintDefaults()
		}
		if code, ok := flagResult(fset.Parse(args), &help, helpSummary("dkim "+c.name, c.summary), env); !ok {
			return code
		}
		fail := func(code int, format string, a ...any) int {
			fmt.Fprintf(env.stderr, "authmail dkim keygen: "+format+"\n", a...)
			return code
		}
		if fset.NArg() > 0 {
			return fail(exitUsage, "unexpected argument %q", fset.Arg(0))
		}
		if err := dkimkey.ValidateDomain(*domain); err != nil {
			return fail(exitUsage, "--domain %s", err)
		}
		if err := dkimkey.ValidateSelector(*selector); err != nil {
			return fail(exitUsage, "--selector %s", err)
		}
		if *algo != "rsa" && *algo != "ed25519" {
			return fail(exitUsage, "--type must be rsa or ed25519, not %q", *algo)
		}
		if *algo == "rsa" && (*bits < dkimkey.MinRSABits || *bits > 4096) {
			return fail(exitUsage, "--bits must be between %d and 4096", dkimkey.MinRSABits)
		}
		if err := ctx.Err(); err != nil {
			return fail(exitFailed, "%v", err)
		}
		name := dkimkey.RecordName(*selector, *domain)
		path := *out
		if path == "" {
			path = name + ".pem"
		}
		pemBytes, pub, err := dkimkey.Generate(*algo, *bits)
		if err != nil {
			return fail(exitFailed, "%v", err)
		}
		if err := writeNewKey(path, pemBytes); err != nil {
			return fail(exitFailed, "%v", err)
		}
		value := dkimkey.TXTRecord(pub)
		w := env.stdout
		fmt.Fprintf(w, "Wrote the private key to %s (mode 0600). Keep it secret: it goes in the SMTP connector's\n", path)
		fmt.Fprintf(w, "dkim block as {\"domain\": %q, \"selector\": %q, \"privateKey\": \"<contents of %s>\"}.\n\n", *domain, *selector, path)
		fmt.Fprintln(w, "Publish this DNS TXT record:")
		fmt.Fprintf(w, "  Name:  %s\n", name)
		fmt.Fprintln(w, "  Type:  TXT")
		fmt.Fprintf(w, "  Value: %s\n", value)
		if parts := dkimkey.SplitTXT(value); len(parts) > 1 {
			fmt.Fprintf(w, "  (longer than 255 bytes: DNS stores it as %d strings; most DNS consoles split it for you)\n", len(parts))
		}
		fmt.Fprintln(w, "\nZone-file line:")
		fmt.Fprintln(w, dkimkey.ZoneLine(name, value, dkimRecordTTL))
		fmt.Fprintf(w, "\nThen check it with: authmail dns check %s --selector %s\n", *domain, *selector)
		return exitOK
	}
	return c
}

// writeNewKey writes a private key to a file that must not exist yet,
// readable only by its owner.
func writeNewKey(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%s already exists; not overwriting a key (choose another --out or a new --selector)", path)
		}
		return fmt.Errorf("writing key: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(path)
		return fmt.Errorf("writing key: %w", err)
	}
	if err := f.Close(); err != nil {
		os.Remove(path)
		return fmt.Errorf("writing key: %w", err)
	}
	return nil
}
