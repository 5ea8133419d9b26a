package browsertest

import (
	"context"
	_ "embed"

	"github.com/chromedp/chromedp"
)

// a11yScript is the accessibility check AccessibilityProblems runs in the
// page.
//
//go:embed a11y.js
var a11yScript string

// AccessibilityProblems runs an automated accessibility check in the page
// of ctx and returns what it finds, as sentences: the document's language
// and title, the main and navigation landmarks and one h1, a label for
// every form control, alt on every image, a title on every frame, a name
// for every link and button, unique IDs, aria-describedby targets that
// exist, and a contrast of at least 4.5:1 between every rendered text and
// the background it is drawn on.
func (b *Browser) AccessibilityProblems(ctx context.Context) []string {
	b.t.Helper()
	return Get(b, ctx, "checking accessibility", chromedp.Evaluate[[]string](a11yScript))
}

// CheckAccessibility fails the test with each problem
// AccessibilityProblems finds on the page, named page.
func (b *Browser) CheckAccessibility(ctx context.Context, page string) {
	b.t.Helper()
	for _, p := range b.AccessibilityProblems(ctx) {
		b.t.Errorf("%s: accessibility: %s", page, p)
	}
}
