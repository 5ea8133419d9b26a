package apptest

import "testing"

// TestRepeatedPhraseFindsWhatIsSaidTwice: a part said twice across ": "
// separators and a run of three words said twice are found; messages that
// say each thing once, and values quoted in them, are not flagged.
func TestRepeatedPhraseFindsWhatIsSaidTwice(t *testing.T) {
	for msg, want := range map[string]string{
		"invalid config: invalid config: host: is required":                                  "invalid config",
		"smtp connect 127.0.0.1:25: smtp connect: dial tcp: connection refused":              "smtp connect",
		"mail: missing word in phrase: mail: invalid string":                                 "mail",
		"the admin key is not valid: send the admin key you were given":                      "the admin key",
		"invalid config: host: is required":                                                  "",
		"domain: \"not a domain\" is not a domain name such as auth.example.com":             "",
		"limit: must be a number from 1 to 500":                                              "",
		"no connector factory \"pigeon\"; use one of aws-ses, dev-inbox, smtp":               "",
		"email codes need an email connector: create one first":                              "",
		"templates[0].languageTag: language tag \"x!\" is not well-formed: use a BCP 47 tag": "",
	} {
		if got := RepeatedPhrase(msg); got != want {
			t.Errorf("RepeatedPhrase(%q) = %q, want %q", msg, got, want)
		}
	}
}
