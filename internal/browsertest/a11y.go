package browsertest

import (
	"context"
	_ "embed"
	"slices"

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

// CheckOption changes what CheckAccessibility asks of a page.
type CheckOption int

// OneForm is a page that is one card with one form and no navigation (a
// hosted sign-in page, as Logto's): the navigation landmark is not asked
// of it.
const OneForm CheckOption = 1

// CheckAccessibility fails the test with each problem
// AccessibilityProblems finds on the page, named page.
func (b *Browser) CheckAccessibility(ctx context.Context, page string, opts ...CheckOption) {
	b.t.Helper()
	for _, p := range b.AccessibilityProblems(ctx) {
		if p == "no nav landmark" && slices.Contains(opts, OneForm) {
			continue
		}
		b.t.Errorf("%s: accessibility: %s", page, p)
	}
}

// Look keeps a screenshot of the page, named name, and checks its
// accessibility.
func (b *Browser) Look(ctx context.Context, name string, opts ...CheckOption) {
	b.t.Helper()
	b.Screenshot(ctx, name)
	b.CheckAccessibility(ctx, name, opts...)
}
