package main

import (
	"testing"

	"github.com/authmail/authmail/connector"
)

// TestBuildHasTheBuiltInConnectorsAndResend: the blank imports register
// the custom connector beside every built-in one.
func TestBuildHasTheBuiltInConnectorsAndResend(t *testing.T) {
	for _, id := range []string{"resend", "dev-inbox", "smtp"} {
		if _, ok := connector.Lookup(id); !ok {
			t.Errorf("connector %q is not registered in this build", id)
		}
	}
}
