package delivery

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// human writes a duration as the README does: "2 s", "1 min", "1 min 30 s".
func human(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%d s", d/time.Second)
	case d%time.Minute == 0:
		return fmt.Sprintf("%d min", d/time.Minute)
	}
	return fmt.Sprintf("%d min %d s", d/time.Minute, d%time.Minute/time.Second)
}

// TestReadmeStatesTheRetrySchedule: the README's account of retries is
// built here from the code's schedule, slack, jitter and defaults, so a
// change to any of them fails until the README says the same.
func TestReadmeStatesTheRetrySchedule(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := strings.Join(strings.Fields(string(b)), " ")
	def := Config{}.withDefaults()
	steps := make([]string, len(backoffSteps))
	for i, d := range backoffSteps {
		steps[i] = human(d)
	}
	n := len(steps)
	for _, want := range []string{
		fmt.Sprintf("for at most `--first-attempt-wait` (%s)", human(def.FirstAttemptWait)),
		fmt.Sprintf("`--first-attempt-wait` + %s after the send (%s by default)", human(leaseSlack), human(def.FirstAttemptWait+leaseSlack)),
		fmt.Sprintf("the next ones wait %s and %s, then %s each (±%d%% jitter;", strings.Join(steps[:n-2], ", "), steps[n-2], steps[n-1], int(backoffJitter*100)),
		fmt.Sprintf("(a job whose process died is rescued after %s)", human(def.RescueAfter)),
	} {
		if !strings.Contains(readme, want) {
			t.Errorf("the README does not say %q, which is what the code does", want)
		}
	}
}
