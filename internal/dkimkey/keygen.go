package dkimkey

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// RecordTTL is the TTL printed in zone-file lines.
const RecordTTL = 3600

// KeygenCommand implements `authmail dkim keygen --domain D --selector S
// [--type rsa|ed25519] [--bits 2048] [--out FILE]`. args are the arguments
// after "keygen" (a leading "keygen" is skipped). It writes the private key
// to FILE with mode 0600, refusing to overwrite one, and prints the record
// to publish. It returns the exit code: 0 on success, 1 when the key
// cannot be written, 2 on a usage error.
func KeygenCommand(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "keygen" {
		args = args[1:]
	}
	fset := flag.NewFlagSet("authmail dkim keygen", flag.ContinueOnError)
	fset.SetOutput(stderr)
	domain := fset.String("domain", "", "signing domain (d=), such as auth.example.com")
	selector := fset.String("selector", "", "selector (s=), such as authmail1")
	algo := fset.String("type", "rsa", "key type: rsa or ed25519")
	bits := fset.Int("bits", DefaultRSABits, "RSA key size in bits (2048 or more)")
	out := fset.String("out", "", "private key file to write (default SELECTOR._domainkey.DOMAIN.pem)")
	fset.Usage = func() {
		fmt.Fprintln(stderr, "usage: authmail dkim keygen --domain D --selector S [--type rsa|ed25519] [--bits 2048] [--out FILE]")
		fset.PrintDefaults()
	}
	if err := fset.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fset.NArg() > 0 {
		fmt.Fprintf(stderr, "authmail dkim keygen: unexpected argument %q\n", fset.Arg(0))
		return 2
	}
	if err := validDomain(*domain); err != nil {
		fmt.Fprintf(stderr, "authmail dkim keygen: --domain %s\n", err)
		return 2
	}
	if err := validSelector(*selector); err != nil {
		fmt.Fprintf(stderr, "authmail dkim keygen: --selector %s\n", err)
		return 2
	}
	if *algo != "rsa" && *algo != "ed25519" {
		fmt.Fprintf(stderr, "authmail dkim keygen: --type must be rsa or ed25519, not %q\n", *algo)
		return 2
	}
	if *algo == "rsa" && (*bits < MinRSABits || *bits > 4096) {
		fmt.Fprintf(stderr, "authmail dkim keygen: --bits must be between %d and 4096\n", MinRSABits)
		return 2
	}
	if err := ctx.Err(); err != nil {
		fmt.Fprintf(stderr, "authmail dkim keygen: %v\n", err)
		return 1
	}
	name := RecordName(*selector, *domain)
	path := *out
	if path == "" {
		path = name + ".pem"
	}
	pemBytes, pub, err := Generate(*algo, *bits)
	if err != nil {
		fmt.Fprintf(stderr, "authmail dkim keygen: %v\n", err)
		return 1
	}
	if err := writeNew(path, pemBytes); err != nil {
		fmt.Fprintf(stderr, "authmail dkim keygen: %v\n", err)
		return 1
	}
	value := TXTRecord(pub)
	fmt.Fprintf(stdout, "Wrote the private key to %s (mode 0600). Keep it secret: it goes in the SMTP connector's\n", path)
	fmt.Fprintf(stdout, "dkim block as {\"domain\": %q, \"selector\": %q, \"privateKey\": \"<contents of %s>\"}.\n\n", *domain, *selector, path)
	fmt.Fprintln(stdout, "Publish this DNS TXT record:")
	fmt.Fprintf(stdout, "  Name:  %s\n", name)
	fmt.Fprintln(stdout, "  Type:  TXT")
	fmt.Fprintf(stdout, "  Value: %s\n", value)
	if parts := SplitTXT(value); len(parts) > 1 {
		fmt.Fprintf(stdout, "  (longer than 255 bytes: DNS stores it as %d strings; most DNS consoles split it for you)\n", len(parts))
	}
	fmt.Fprintln(stdout, "\nZone-file line:")
	fmt.Fprintln(stdout, ZoneLine(name, value, RecordTTL))
	fmt.Fprintf(stdout, "\nThen check it with: authmail dns check %s --selector %s\n", *domain, *selector)
	return 0
}

// writeNew writes data to a file that must not exist yet, readable only by
// its owner.
func writeNew(path string, data []byte) error {
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
