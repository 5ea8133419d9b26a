package password

import (
	"bufio"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// DefaultPwnedURL is the base URL of HaveIBeenPwned's Pwned Passwords
// range API; a check asks for {base}/range/{first five hex digits of the
// SHA-1}.
const DefaultPwnedURL = "https://api.pwnedpasswords.com"

// ErrPwnedUnavailable means the breach check could not ask the range API
// (unreachable, refused by the outbound policy, an error status): the
// password is neither accepted nor refused. Match it with errors.Is.
var ErrPwnedUnavailable = errors.New("the breached-password check could not reach its service")

// pwnedTimeout bounds one range request.
const pwnedTimeout = 5 * time.Second

// maxRangeBody bounds a range response (a real one is about 40 KB).
const maxRangeBody = 4 << 20

// Checker applies policies; it holds the HTTP client and the range API's
// base URL the breach check uses. It is safe for concurrent use.
type Checker struct {
	client   *http.Client
	pwnedURL string
}

// NewChecker returns a checker whose breach check asks pwnedURL (""
// means DefaultPwnedURL) through client, which should be the outbound
// policy's guarded client.
func NewChecker(client *http.Client, pwnedURL string) *Checker {
	if pwnedURL == "" {
		pwnedURL = DefaultPwnedURL
	}
	return &Checker{client: client, pwnedURL: strings.TrimRight(pwnedURL, "/")}
}

// Check applies p to pw, the password of the user u describes. It returns
// nil when the policy accepts it, an *Error listing every issue (in
// Logto's order: length, character types, breach, phrases) when it does
// not, and an error matching ErrPwnedUnavailable when the breach check is
// on and could not be made. The breach check is skipped when the password
// already breaks another rule, so no request is made for a password that
// is refused anyway.
func (c *Checker) Check(ctx context.Context, p Policy, pw string, u UserInfo) error {
	issues := p.checkLocal(pw, u)
	restricted := p.restricted(pw, u)
	if p.Rejects.Pwned && len(issues) == 0 && len(restricted) == 0 {
		pwned, err := c.pwned(ctx, pw)
		if err != nil {
			return err
		}
		if pwned {
			issues = append(issues, Issue{Code: IssuePwned})
		}
	}
	issues = append(issues, restricted...)
	if len(issues) == 0 {
		return nil
	}
	return &Error{Issues: issues, policy: p}
}

// pwned asks the range API whether pw's SHA-1 is among the breached
// passwords' hashes. Only the first five hex digits leave the process
// (k-anonymity); padding is asked for, so the response's size says
// nothing about the prefix either.
func (c *Checker) pwned(ctx context.Context, pw string) (bool, error) {
	sum := sha1.Sum([]byte(pw))
	digest := strings.ToUpper(hex.EncodeToString(sum[:]))
	prefix, suffix := digest[:5], digest[5:]
	ctx, cancel := context.WithTimeout(ctx, pwnedTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.pwnedURL+"/range/"+prefix, nil)
	if err != nil {
		return false, fmt.Errorf("%w: %v", ErrPwnedUnavailable, err)
	}
	req.Header.Set("Add-Padding", "true")
	req.Header.Set("User-Agent", "authmail")
	resp, err := c.client.Do(req)
	if err != nil {
		return false, fmt.Errorf("%w: %v", ErrPwnedUnavailable, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return false, fmt.Errorf("%w: the range API answered %s", ErrPwnedUnavailable, resp.Status)
	}
	// Each line is SUFFIX:COUNT; padding lines have a count of 0.
	sc := bufio.NewScanner(io.LimitReader(resp.Body, maxRangeBody))
	for sc.Scan() {
		hash, count, _ := strings.Cut(strings.TrimSpace(sc.Text()), ":")
		if strings.EqualFold(hash, suffix) && strings.TrimLeft(count, "0") != "" {
			return true, nil
		}
	}
	if err := sc.Err(); err != nil {
		return false, fmt.Errorf("%w: reading the range API's answer: %v", ErrPwnedUnavailable, err)
	}
	return false, nil
}
