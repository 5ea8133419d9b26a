package awsses

import (
	"context"
	"errors"

	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/smithy-go"

	"github.com/authmail/authmail/connector"
)

// Check reads the account's SES settings in the configured region
// (sesv2 GetAccount, GET /v2/email/account), the cheapest signed read:
// keys SES does not recognise, or a signature made with the wrong secret,
// are ErrAuth. AccessDeniedException means AWS verified the signature and
// the identity lacks ses:GetAccount, which a send-only policy leaves out:
// the credentials are proven, so the check passes. An account whose
// sending SES has paused in the region is ErrRejected. Nothing is sent.
func (c *Connector) Check(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, c.s.timeout)
	defer cancel()
	out, err := c.client.GetAccount(ctx, &sesv2.GetAccountInput{})
	var api smithy.APIError
	if errors.As(err, &api) && api.ErrorCode() == "AccessDeniedException" {
		c.log.DebugContext(ctx, "ses check: the identity may not call GetAccount; its signature was accepted")
		return nil
	}
	if err != nil {
		return classify(err, c.s.secrets())
	}
	if !out.SendingEnabled {
		return &connector.Error{Kind: connector.ErrRejected, Code: "SendingPaused",
			Message: "SES has paused sending for this account in " + c.s.cfg.Region + "; see the SES console's account dashboard"}
	}
	c.log.DebugContext(ctx, "ses check passed", "region", c.s.cfg.Region, "productionAccess", out.ProductionAccessEnabled)
	return nil
}
