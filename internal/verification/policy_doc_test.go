package verification_test

import (
	"bufio"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/authmail/authmail/internal/verification"
)

// TestReadmeDocumentsEveryPolicyField: the README's table of
// verificationCodePolicy has one row per field of the policy, with the
// default and range the field declares, and no row for a field that is
// not there.
func TestReadmeDocumentsEveryPolicyField(t *testing.T) {
	f, err := os.Open("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows := map[string]string{} // field name -> "default | min-max"
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "| `verificationCodePolicy.` |") {
			in = true
			continue
		}
		if !in || strings.HasPrefix(line, "|---") {
			continue
		}
		if !strings.HasPrefix(line, "|") {
			break
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		if len(cells) < 3 {
			t.Fatalf("README policy row %q has fewer than 3 cells", line)
		}
		name := strings.Trim(strings.TrimSpace(cells[0]), "`")
		rows[name] = strings.TrimSpace(cells[1]) + " | " + strings.TrimSpace(cells[2])
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(rows) == 0 {
		t.Fatal("the README has no verificationCodePolicy table")
	}
	for _, pf := range verification.PolicyFields() {
		want := fmt.Sprintf("%d | %d-%d", pf.Default, pf.Min, pf.Max)
		got, ok := rows[pf.Name]
		if !ok {
			t.Errorf("the README's policy table has no row for %s (want default | range %q)", pf.Name, want)
		} else if got != want {
			t.Errorf("the README's policy table says %s is %q, the code %q", pf.Name, got, want)
		}
		delete(rows, pf.Name)
	}
	for name := range rows {
		t.Errorf("the README's policy table has a row for %s, which the policy does not have", name)
	}
}
