package mailgun

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/authmail/authmail/connector"
)

// Check proves the key, the region (or endpoint) and the sending domain
// without sending mail. It first reads the domain (GET /v4/domains/{domain},
// Mailgun's cheapest authenticated read): 200 passes, 404 means the
// account has no such domain in this region. A domain sending key (what
// the guide recommends) may only post messages, so a 401 or 403 there is
// not yet a verdict: the check then posts an empty form to
// /v3/{domain}/messages, which Mailgun authenticates before it finds the
// required parameters missing. Its 400 proves the key; 401 or 403 refuses
// it. An empty form has no recipient, so nothing can be sent.
func (c *Connector) Check(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, c.s.timeout)
	defer cancel()
	domain := url.PathEscape(c.s.domain)
	a, err := c.call(ctx, http.MethodGet, "/v4/domains/"+domain, nil)
	if err != nil {
		return err
	}
	switch a.status {
	case http.StatusOK:
		return nil
	case http.StatusNotFound:
		return c.noDomain()
	case http.StatusUnauthorized, http.StatusForbidden:
		// Perhaps a domain sending key: ask the one endpoint it may use.
	default:
		return a.refusal(c.s.apiKey)
	}
	a, err = c.call(ctx, http.MethodPost, "/v3/"+domain+"/messages", url.Values{})
	if err != nil {
		return err
	}
	switch {
	case a.status == http.StatusBadRequest, a.status >= 200 && a.status <= 299:
		c.log.DebugContext(ctx, "mailgun check: the key may send but not read the domain", "domain", c.s.domain)
		return nil
	case a.status == http.StatusNotFound:
		return c.noDomain()
	}
	return a.refusal(c.s.apiKey)
}

func (c *Connector) noDomain() error {
	return connector.InvalidConfig("domain", "Mailgun has no sending domain %s in this account and region; check domain, and region or endpoint", c.s.domain)
}

// answer is a response to a check request.
type answer struct {
	status int
	header http.Header
	body   []byte
}

// refusal classifies the answer as a failure, with Mailgun's message.
func (a answer) refusal(secrets ...string) error {
	var e struct {
		Message string `json:"message"`
	}
	_ = json.Unmarshal(a.body, &e)
	return connector.HTTPStatusError(a.status, a.header, a.body, "", e.Message, secrets...)
}

// call makes one check request with the key as basic auth; a form, when
// given, is the urlencoded body.
func (c *Connector) call(ctx context.Context, method, path string, form url.Values) (answer, error) {
	var body strings.Reader
	if form != nil {
		body.Reset(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, c.s.apiBase+path, &body)
	if err != nil {
		return answer{}, connector.InvalidConfig("endpoint", "cannot build a request: %v", err)
	}
	req.SetBasicAuth("api", c.s.apiKey)
	req.Header.Set("Accept", "application/json")
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := c.mg.Client().Do(req)
	if err != nil {
		return answer{}, connector.NetworkError(fmt.Errorf("calling mailgun: %w", err))
	}
	defer resp.Body.Close()
	return answer{status: resp.StatusCode, header: resp.Header, body: connector.ReadBody(resp.Body)}, nil
}
