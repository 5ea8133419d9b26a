// Package password is a tenant's password policy, Logto's passwordPolicy,
// and its checker: length, character types, repetition and sequences, the
// user's own information, the tenant's restricted words and, when turned
// on, the passwords HaveIBeenPwned knows from breaches. The rules and the
// issue codes are those of Logto's PasswordPolicyChecker
// (@logto/core-kit), so a client that reads Logto's password.rejected
// issues reads authmail's.
package password

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// Policy is Logto's passwordPolicy as it is in force.
type Policy struct {
	// Length bounds the password's length in characters.
	Length Length `json:"length"`
	// CharacterTypes says how many of the four character types (lowercase,
	// uppercase, digits, symbols) a password must mix.
	CharacterTypes CharacterTypes `json:"characterTypes"`
	// Rejects lists what a password must not be or contain.
	Rejects Rejects `json:"rejects"`
}

// Length is the least and the most characters of a password.
type Length struct {
	Min int `json:"min"`
	Max int `json:"max"`
}

// CharacterTypes is the least number of character types, 1 to 4.
type CharacterTypes struct {
	Min int `json:"min"`
}

// Rejects are the refusals beyond length and character types.
type Rejects struct {
	// Pwned refuses passwords found in breaches (HaveIBeenPwned's range
	// API, queried with a five-character prefix of the SHA-1 only).
	Pwned bool `json:"pwned"`
	// RepetitionAndSequence refuses passwords made mostly of runs such as
	// "aaa" or "123" or "qwerty".
	RepetitionAndSequence bool `json:"repetitionAndSequence"`
	// UserInfo refuses passwords made mostly of the user's name, username
	// or the local part of their email.
	UserInfo bool `json:"userInfo"`
	// Words refuses passwords made mostly of these words (case-insensitive).
	Words []string `json:"words"`
}

// Limits of a policy's values.
const (
	// MaxLength is the largest length.max (Logto's default maximum).
	MaxLength = 256
	// MaxWords is the most restricted words a policy lists.
	MaxWords = 1000
	// MaxWordLength is the longest restricted word, in characters.
	MaxWordLength = 256
)

// DefaultPolicy is the policy of a tenant that never set one: Logto's
// defaults (8 to 256 characters, one character type, repetition and
// sequences and the user's information refused, no words), except that
// the breach check is off until the tenant turns it on, since it sends a
// hash prefix to an outside service.
func DefaultPolicy() Policy {
	return Policy{
		Length:         Length{Min: 8, Max: MaxLength},
		CharacterTypes: CharacterTypes{Min: 1},
		Rejects:        Rejects{Pwned: false, RepetitionAndSequence: true, UserInfo: true, Words: []string{}},
	}
}

// FieldError is a policy value out of range: the field's JSON path below
// passwordPolicy, such as "length.min", and what is wrong.
type FieldError struct {
	Field, Reason string
}

// Error names the field and the reason.
func (e *FieldError) Error() string { return e.Field + ": " + e.Reason }

// Validate checks the policy's values, returning a *FieldError for the
// first one out of range.
func (p Policy) Validate() error {
	switch {
	case p.Length.Min < 1 || p.Length.Min > MaxLength:
		return &FieldError{"length.min", fmt.Sprintf("must be between 1 and %d, not %d", MaxLength, p.Length.Min)}
	case p.Length.Max < 1 || p.Length.Max > MaxLength:
		return &FieldError{"length.max", fmt.Sprintf("must be between 1 and %d, not %d", MaxLength, p.Length.Max)}
	case p.Length.Max < p.Length.Min:
		return &FieldError{"length.max", fmt.Sprintf("must be at least length.min (%d), not %d", p.Length.Min, p.Length.Max)}
	case p.CharacterTypes.Min < 1 || p.CharacterTypes.Min > 4:
		return &FieldError{"characterTypes.min", fmt.Sprintf("must be between 1 and 4, not %d", p.CharacterTypes.Min)}
	case len(p.Rejects.Words) > MaxWords:
		return &FieldError{"rejects.words", fmt.Sprintf("must list at most %d words, not %d", MaxWords, len(p.Rejects.Words))}
	}
	for i, w := range p.Rejects.Words {
		if n := utf8.RuneCountInString(w); w == "" || n > MaxWordLength || !utf8.ValidString(w) {
			return &FieldError{"rejects.words", fmt.Sprintf("item %d must be 1 to %d characters of valid UTF-8", i, MaxWordLength)}
		}
	}
	return nil
}

// UserInfo is what the policy checks a password against for the user
// whose password it is (Logto's UserInfo, without the phone number).
type UserInfo struct {
	Name, Username, Email string
}

// Issue is one rule a password breaks: Logto's issue code and the rule's
// values (min, max).
type Issue struct {
	Code          string         `json:"code"`
	Interpolation map[string]int `json:"interpolation,omitempty"`
}

// The issue codes, Logto's.
const (
	IssueTooShort               = "password_rejected.too_short"
	IssueTooLong                = "password_rejected.too_long"
	IssueCharacterTypes         = "password_rejected.character_types"
	IssueUnsupportedCharacters  = "password_rejected.unsupported_characters"
	IssuePwned                  = "password_rejected.pwned"
	IssueRestrictedRepetition   = "password_rejected.restricted.repetition"
	IssueRestrictedSequence     = "password_rejected.restricted.sequence"
	IssueRestrictedUserInfo     = "password_rejected.restricted.user_info"
	IssueRestrictedWords        = "password_rejected.restricted.words"
	repetitionAndSequenceLength = 3
	restrictedPhrasesTolerance  = 3
)

// Error is a password the policy refuses, with every issue found.
type Error struct {
	Issues []Issue
	policy Policy
}

// Error says what the policy wants, never the password.
func (e *Error) Error() string {
	codes := make([]string, len(e.Issues))
	for i, is := range e.Issues {
		codes[i] = strings.TrimPrefix(is.Code, "password_rejected.")
	}
	return fmt.Sprintf("the password breaks the password policy (%s); it must be %d to %d characters",
		strings.Join(codes, ", "), e.policy.Length.Min, e.policy.Length.Max)
}

// Symbols are the characters that count as symbols (Logto's set, with
// the space).
const Symbols = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~ "

// sequences are the runs that count as sequential, as Logto's, read in
// either direction and in either case.
var sequences = []string{
	"0123456789", "abcdefghijklmnopqrstuvwxyz", "qwertyuiop", "asdfghjkl", "zxcvbnm",
	"1qaz", "2wsx", "3edc", "4rfv", "5tgb", "6yhn", "7ujm", "8ik", "9ol",
}

// checkLocal applies every rule but the breach check.
func (p Policy) checkLocal(pw string, u UserInfo) []Issue {
	var issues []Issue
	runes := []rune(pw)
	if n := len(runes); n < p.Length.Min {
		issues = append(issues, Issue{Code: IssueTooShort, Interpolation: map[string]int{"min": p.Length.Min}})
	} else if n > p.Length.Max {
		issues = append(issues, Issue{Code: IssueTooLong, Interpolation: map[string]int{"max": p.Length.Max}})
	}
	switch types, ok := characterTypes(runes); {
	case !ok:
		issues = append(issues, Issue{Code: IssueUnsupportedCharacters})
	case types < p.CharacterTypes.Min:
		issues = append(issues, Issue{Code: IssueCharacterTypes, Interpolation: map[string]int{"min": p.CharacterTypes.Min}})
	}
	return issues
}

// characterTypes counts the types among the password's characters; ok is
// false when one is of none of them.
func characterTypes(pw []rune) (n int, ok bool) {
	var lower, upper, digit, symbol bool
	for _, r := range pw {
		switch {
		case r >= 'a' && r <= 'z':
			lower = true
		case r >= 'A' && r <= 'Z':
			upper = true
		case r >= '0' && r <= '9':
			digit = true
		case r < utf8.RuneSelf && strings.ContainsRune(Symbols, r):
			symbol = true
		default:
			return 0, false
		}
	}
	for _, b := range []bool{lower, upper, digit, symbol} {
		if b {
			n++
		}
	}
	return n, true
}

// restricted applies the phrase rules (repetition, sequence, words, user
// information) as Logto does: each marks the characters of the phrases it
// finds, and the password is refused, with every rule that marked some,
// only when more than all but restrictedPhrasesTolerance characters are
// marked.
func (p Policy) restricted(pw string, u UserInfo) []Issue {
	runes := []rune(pw)
	lower := []rune(strings.ToLower(pw))
	if len(lower) != len(runes) {
		// Lowering changed the length (rare letters): compare rune by rune.
		lower = make([]rune, len(runes))
		for i, r := range runes {
			lower[i] = []rune(strings.ToLower(string(r)))[0]
		}
	}
	marked := make([]bool, len(runes))
	found := map[string]bool{}
	mark := func(start, n int, code string) {
		if n <= 0 {
			return
		}
		for i := start; i < start+n && i < len(marked); i++ {
			marked[i] = true
		}
		found[code] = true
	}
	words := make([][]rune, 0, len(p.Rejects.Words))
	for _, w := range p.Rejects.Words {
		words = append(words, []rune(strings.ToLower(w)))
	}
	info := userInfoPhrases(u)
	for i := range runes {
		if p.Rejects.RepetitionAndSequence {
			mark(i, repetitionLength(runes[i:]), IssueRestrictedRepetition)
			mark(i, sequenceLength(runes[i:]), IssueRestrictedSequence)
		}
		if len(words) > 0 {
			mark(i, longestPrefix(lower[i:], words), IssueRestrictedWords)
		}
		if p.Rejects.UserInfo {
			mark(i, longestPrefix(lower[i:], info), IssueRestrictedUserInfo)
		}
	}
	n := 0
	for _, m := range marked {
		if m {
			n++
		}
	}
	if n <= max(1, len(runes)-restrictedPhrasesTolerance) {
		return nil
	}
	var issues []Issue
	for _, code := range []string{IssueRestrictedRepetition, IssueRestrictedSequence, IssueRestrictedWords, IssueRestrictedUserInfo} {
		if found[code] {
			issues = append(issues, Issue{Code: code})
		}
	}
	return issues
}

// repetitionLength is the length of the run of one character that starts
// pw, or 0 when it is shorter than three.
func repetitionLength(pw []rune) int {
	n := 0
	for n < len(pw) && pw[n] == pw[0] {
		n++
	}
	if n < repetitionAndSequenceLength {
		return 0
	}
	return n
}

// sequenceLength is the length of the sequential run that starts pw, or 0
// when it is shorter than three.
func sequenceLength(pw []rune) int {
	n := 0
	for n < len(pw) && (n == 0 || sequential(string(pw[:n+1]))) {
		n++
	}
	if n < repetitionAndSequenceLength {
		return 0
	}
	return n
}

func sequential(s string) bool {
	for _, seq := range sequences {
		r := []rune(seq)
		slices.Reverse(r)
		rev := string(r)
		for _, v := range []string{seq, rev, strings.ToUpper(seq), strings.ToUpper(rev)} {
			if strings.Contains(v, s) {
				return true
			}
		}
	}
	return false
}

// userInfoPhrases are the lowercased phrases of the user's information a
// password must not be made of: the name as written, without its spaces
// and each of its words; the username; the email's local part.
func userInfoPhrases(u UserInfo) [][]rune {
	var out [][]rune
	add := func(s string) {
		if s != "" {
			out = append(out, []rune(strings.ToLower(s)))
		}
	}
	if u.Name != "" {
		add(u.Name)
		add(strings.Join(strings.Fields(u.Name), ""))
		for w := range strings.SplitSeq(u.Name, " ") {
			add(w)
		}
	}
	add(u.Username)
	if local, _, ok := strings.Cut(u.Email, "@"); ok {
		add(local)
	}
	return out
}

// longestPrefix is the length of the longest phrase that starts s.
func longestPrefix(s []rune, phrases [][]rune) int {
	n := 0
	for _, p := range phrases {
		if len(p) > n && len(p) <= len(s) && slices.Equal(s[:len(p)], p) {
			n = len(p)
		}
	}
	return n
}
