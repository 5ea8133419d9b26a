package postmark

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/authmail/authmail/connector"
)

// pathServer is the server the token belongs to (GET /server), the
// cheapest read a server token may make.
const pathServer = "/server"

// Check reads the server the token belongs to (GET /server with the
// server token): a token Postmark does not know is ErrAuth. Nothing is
// sent.
func (c *Connector) Check(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, c.s.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.s.baseURL+pathServer, nil)
	if err != nil {
		return connector.InvalidConfig("endpoint", "cannot build a request: %v", err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("X-Postmark-Server-Token", c.s.token)
	resp, err := c.http.Do(req)
	if err != nil {
		return connector.NetworkError(fmt.Errorf("calling postmark: %w", err))
	}
	defer resp.Body.Close()
	raw := connector.ReadBody(resp.Body)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		var res response
		parseErr := json.Unmarshal(raw, &res)
		return c.statusError(resp.StatusCode, resp.Header, raw, res, parseErr == nil)
	}
	var server struct {
		ID   int64  `json:"ID"`
		Name string `json:"Name"`
	}
	if json.Unmarshal(raw, &server) != nil || server.ID == 0 {
		return &connector.Error{Kind: connector.ErrTemporary, Status: resp.StatusCode,
			Message: "unexpected answer to GET " + pathServer + ": " + connector.Snippet(string(raw), c.s.token)}
	}
	c.log.DebugContext(ctx, "postmark check passed", "server", server.Name)
	return nil
}
