// Package dnscheck checks that a sending domain is ready for authenticated
// mail: SPF, DKIM, DMARC, identifier alignment, separation from the
// organisational domain, and MX. Every lookup goes through a Resolver built
// on github.com/miekg/dns that talks to one configurable nameserver, so a
// test can point it at an in-process server (see package dnstest).
//
// A check that could not be completed (a timeout, SERVFAIL) reports
// StatusError, never StatusPass.
package dnscheck

import (
	"fmt"
	"io"
	"strings"
)

// Status is the outcome of one check.
type Status string

// Statuses, from best to worst.
const (
	// StatusPass means the check found nothing to fix.
	StatusPass Status = "pass"
	// StatusWarn means mail works but something should change.
	StatusWarn Status = "warn"
	// StatusFail means mail will be rejected or land in spam.
	StatusFail Status = "fail"
	// StatusError means the check could not be done (DNS timeout or failure).
	StatusError Status = "error"
)

func (s Status) rank() int {
	switch s {
	case StatusPass:
		return 0
	case StatusWarn:
		return 1
	case StatusFail:
		return 2
	default:
		return 3
	}
}

// Check IDs, in report order.
const (
	CheckSPF        = "spf"
	CheckDKIM       = "dkim"
	CheckDMARC      = "dmarc"
	CheckAlignment  = "alignment"
	CheckSeparation = "separation"
	CheckMX         = "mx"
)

// Report is the outcome of all checks for one domain.
type Report struct {
	// Domain is the sending domain (DKIM d= and envelope sender).
	Domain string `json:"domain"`
	// From is the From address checked, or the domain when none was given.
	From string `json:"from"`
	// Selector is the DKIM selector checked, if any.
	Selector string `json:"selector,omitempty"`
	// Provider is the connector ID whose needs were checked, if any.
	Provider string `json:"provider,omitempty"`
	// Resolver is the nameserver queried.
	Resolver string `json:"resolver,omitempty"`
	// NonexistentDomains are the sending or From domain when they do not
	// exist (NXDOMAIN): then each check of a record under one says so.
	NonexistentDomains []string `json:"nonexistentDomains,omitempty"`
	// Checks are the results, one per check ID.
	Checks []Result `json:"checks"`
}

// Result is the outcome of one check.
type Result struct {
	// ID is one of spf, dkim, dmarc, alignment, separation, mx.
	ID string `json:"id"`
	// Status is pass, warn, fail or error ("could not check").
	Status Status `json:"status"`
	// Summary says in one line what was found.
	Summary string `json:"summary"`
	// Found lists the records found.
	Found []string `json:"found"`
	// Fix is the exact record to add or change, or what to do; empty on pass.
	Fix string `json:"fix,omitempty"`
	// Details lists every observation behind the status.
	Details []string `json:"details"`
}

// Status returns the worst status among the checks.
func (r Report) Status() Status {
	worst := StatusPass
	for _, c := range r.Checks {
		if c.Status.rank() > worst.rank() {
			worst = c.Status
		}
	}
	return worst
}

// Failed reports whether a check failed or could not be done.
func (r Report) Failed() bool {
	return r.Status().rank() >= StatusFail.rank()
}

// Result returns the result of check id, if present.
func (r Report) Result(id string) (Result, bool) {
	for _, c := range r.Checks {
		if c.ID == id {
			return c, true
		}
	}
	return Result{}, false
}

var statusLabel = map[Status]string{
	StatusPass:  "PASS ",
	StatusWarn:  "WARN ",
	StatusFail:  "FAIL ",
	StatusError: "ERROR",
}

// WriteText renders the report for a terminal.
func WriteText(w io.Writer, r Report) error {
	var b strings.Builder
	fmt.Fprintf(&b, "Deliverability check for %s", r.Domain)
	if r.From != "" && r.From != r.Domain {
		fmt.Fprintf(&b, " (From: %s)", r.From)
	}
	b.WriteString("\n")
	if r.Resolver != "" {
		fmt.Fprintf(&b, "Resolver: %s\n", r.Resolver)
	}
	for _, d := range r.NonexistentDomains {
		fmt.Fprintf(&b, "\n%s does not exist (NXDOMAIN): check its spelling, or create it before publishing records.\n", d)
	}
	for _, c := range r.Checks {
		fmt.Fprintf(&b, "\n[%s] %-10s %s\n", statusLabel[c.Status], c.ID, c.Summary)
		for _, f := range c.Found {
			fmt.Fprintf(&b, "        found: %s\n", f)
		}
		if c.Status != StatusPass {
			for _, d := range c.Details {
				if d == c.Summary {
					continue
				}
				fmt.Fprintf(&b, "        - %s\n", d)
			}
		}
		if c.Fix != "" {
			b.WriteString("        fix:\n")
			for _, line := range strings.Split(c.Fix, "\n") {
				fmt.Fprintf(&b, "          %s\n", line)
			}
		}
	}
	counts := map[Status]int{}
	for _, c := range r.Checks {
		counts[c.Status]++
	}
	fmt.Fprintf(&b, "\n%d passed, %d warnings, %d failed, %d could not be checked\n",
		counts[StatusPass], counts[StatusWarn], counts[StatusFail], counts[StatusError])
	_, err := io.WriteString(w, b.String())
	return err
}

// result accumulates observations of one check; the worst status wins and
// the summary and fix of the first observation at that status are kept.
type result struct {
	Result
	set bool
}

func newResult(id string) *result {
	return &result{Result: Result{ID: id, Status: StatusPass, Found: []string{}, Details: []string{}}}
}

// note records an observation at status s.
func (r *result) note(s Status, summary, fix string) {
	r.Details = append(r.Details, summary)
	if !r.set || s.rank() > r.Status.rank() {
		r.Status, r.Summary, r.Fix, r.set = s, summary, fix, true
	}
}

func (r *result) done(passSummary string) Result {
	if !r.set {
		r.Summary = passSummary
	}
	if r.Status == StatusPass {
		r.Fix = ""
	}
	return r.Result
}
