package aliyundm

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/authmail/authmail/connector"
)

// checkPageSize is how many domains the check asks for; more than a
// keyword search for one domain name can match.
const checkPageSize = 50

// deniedCodes are the answers of a key whose signature DirectMail
// verified but whose RAM policy does not allow the read.
var deniedCodes = []string{"Forbidden", "NoPermission"}

// Check looks the sender address's domain up in the configured region
// (QueryDomainByParam, DirectMail's cheapest signed read): an AccessKey
// DirectMail does not know, or a signature made with the wrong secret, is
// ErrAuth; a region without that domain is a config error naming
// accountName (domains and sender addresses live in one region). A RAM
// user allowed only to send gets Forbidden or NoPermission after its
// signature was verified: the keys are proven and the check passes.
// Nothing is sent.
func (c *Connector) Check(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, c.s.timeout)
	defer cancel()
	domain := c.s.from.Email[strings.LastIndexByte(c.s.from.Email, '@')+1:]
	p := c.rpcParams("QueryDomainByParam")
	p["KeyWord"] = domain
	p["PageNo"] = "1"
	p["PageSize"] = strconv.Itoa(checkPageSize)
	secret := c.s.cfg.AccessKeySecret.Reveal()
	resp, data, err := c.call(ctx, p)
	if err != nil {
		return err
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		var ae apiError
		if json.Unmarshal(data, &ae) == nil && hasPrefix(ae.Code, deniedCodes) {
			c.log.DebugContext(ctx, "directmail check: the key may not query domains; its signature was accepted", "code", ae.Code)
			return nil
		}
		return responseError(resp, data, secret)
	}
	var res struct {
		TotalCount int `json:"TotalCount"`
		Data       struct {
			Domain []struct {
				DomainName string `json:"DomainName"`
			} `json:"domain"`
		} `json:"data"`
	}
	if err := json.Unmarshal(data, &res); err != nil {
		return &connector.Error{Kind: connector.ErrTemporary, Status: resp.StatusCode,
			Message: "unexpected answer to QueryDomainByParam: " + connector.Snippet(string(data), secret)}
	}
	for _, d := range res.Data.Domain {
		if strings.EqualFold(d.DomainName, domain) {
			return nil
		}
	}
	return connector.InvalidConfig("accountName", "DirectMail in %s has no domain %s; use a sender address of a domain set up in that region, or set regionId to the region it was set up in", c.s.cfg.RegionID, domain)
}
