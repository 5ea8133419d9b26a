package apptest

import (
	"regexp"
	"slices"
	"strings"
	"unicode"
)

// quoted matches a Go-quoted string: a value the message echoes, whose
// words are the caller's, not the message's.
var quoted = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)

// RepeatedPhrase returns a phrase that msg says twice, or "" when it says
// everything once: a part between ": " separators that a later part
// repeats or starts with (such as "invalid config: invalid config: host"
// or "smtp connect 10.0.0.1:25: smtp connect: refused"), or a run of
// three words or more that appears twice. Case, punctuation and quoted
// values are ignored.
func RepeatedPhrase(msg string) string {
	msg = quoted.ReplaceAllString(msg, `""`)
	var parts [][]string
	for _, part := range strings.Split(msg, ": ") {
		if ws := words(part); len(ws) > 0 {
			parts = append(parts, ws)
		}
	}
	for i, p := range parts {
		for _, q := range parts[i+1:] {
			short, long := p, q
			if len(short) > len(long) {
				short, long = long, short
			}
			if (len(short) >= 2 || len(short) == len(long)) && slices.Equal(short, long[:len(short)]) {
				return strings.Join(short, " ")
			}
		}
	}
	ws := words(msg)
	const n = 3
	at := map[string]int{}
	for i := 0; i+n <= len(ws); i++ {
		key := strings.Join(ws[i:i+n], " ")
		if j, ok := at[key]; ok && i >= j+n {
			return key
		} else if !ok {
			at[key] = i
		}
	}
	return ""
}

// words splits s into lower-case words of letters and digits.
func words(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
}
