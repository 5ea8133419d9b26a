package sendgrid

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"

	"github.com/sendgrid/rest"
	sendgridapi "github.com/sendgrid/sendgrid-go"

	"github.com/authmail/authmail/connector"
)

// scopesPath lists the scopes of the key that authenticates the call
// (GET /v3/scopes), SendGrid's cheapest authenticated read.
const scopesPath = "/v3/scopes"

// mailSendScope is the permission Mail Send needs.
const mailSendScope = "mail.send"

// Check reads the API key's own scopes (GET /v3/scopes): a refused key is
// ErrAuth, and so is a key whose scopes lack mail.send, which could not
// send. A 403 means SendGrid knows the key but will not list its scopes
// to it; the credentials are then taken as proven. Nothing is sent.
func (c *Connector) Check(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, c.s.timeout)
	defer cancel()
	req := sendgridapi.GetRequest(c.s.apiKey, scopesPath, c.s.host)
	req.Method = rest.Get
	resp, err := c.client.SendWithContext(ctx, req)
	if err != nil {
		return connector.NetworkError(fmt.Errorf("calling sendgrid: %w", err))
	}
	switch {
	case resp.StatusCode == http.StatusForbidden:
		c.log.DebugContext(ctx, "sendgrid check: the key may not list its scopes; taking it as valid")
		return nil
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		return c.statusError(resp)
	}
	var body struct {
		Scopes []string `json:"scopes"`
	}
	if err := json.Unmarshal([]byte(resp.Body), &body); err != nil {
		return &connector.Error{Kind: connector.ErrTemporary, Status: resp.StatusCode,
			Message: "unexpected answer to GET " + scopesPath + ": " + connector.Snippet(resp.Body, c.s.apiKey)}
	}
	if !slices.Contains(body.Scopes, mailSendScope) {
		return &connector.Error{Kind: connector.ErrAuth, Status: resp.StatusCode,
			Message: "the API key lacks the Mail Send permission (" + mailSendScope + "); give it Mail Send access in SendGrid's API key settings"}
	}
	return nil
}
