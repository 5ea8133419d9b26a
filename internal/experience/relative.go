package experience

import (
	"fmt"
	"time"

	"golang.org/x/text/language"
)

// relativeLanguages are the languages relativeTime speaks, English first
// (the fallback).
var relativeLanguages = language.NewMatcher([]language.Tag{language.English, language.French})

// relativeTime says when d from now is, as Intl.RelativeTimeFormat does
// for Logto ("in 42 minutes", "dans 42 minutes"), in the first of langs it
// speaks: seconds under a minute, minutes under an hour (rounded up, so
// that the time said is never too early), hours beyond.
func relativeTime(d time.Duration, langs []language.Tag) string {
	n, unit := int((d+time.Second-1)/time.Second), "second"
	switch {
	case d > time.Hour:
		n, unit = int((d+time.Hour-1)/time.Hour), "hour"
	case d > time.Minute:
		n, unit = int((d+time.Minute-1)/time.Minute), "minute"
	}
	n = max(n, 1)
	_, i, _ := relativeLanguages.Match(langs...)
	if i == 1 {
		fr := map[string]string{"second": "seconde", "minute": "minute", "hour": "heure"}[unit]
		if n > 1 {
			fr += "s"
		}
		return fmt.Sprintf("dans %d %s", n, fr)
	}
	if n > 1 {
		unit += "s"
	}
	return fmt.Sprintf("in %d %s", n, unit)
}
