package awsses

import (
	"context"
	"errors"
	"net/http"
	"time"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"

	"github.com/authmail/authmail/connector"
)

// codeKinds classifies SES error codes (the x-amzn-ErrorType of the v2
// API, and the AWS-wide authentication and throttling codes).
var codeKinds = map[string]error{
	"MessageRejected":                    connector.ErrRejected,
	"MailFromDomainNotVerifiedException": connector.ErrRejected,
	"AccountSuspendedException":          connector.ErrRejected,
	"SendingPausedException":             connector.ErrRejected,
	"NotFoundException":                  connector.ErrRejected,
	"BadRequestException":                connector.ErrRejected,
	"ValidationException":                connector.ErrRejected,

	"TooManyRequestsException": connector.ErrRateLimited,
	"LimitExceededException":   connector.ErrRateLimited,
	"Throttling":               connector.ErrRateLimited,
	"ThrottlingException":      connector.ErrRateLimited,

	"UnrecognizedClientException":         connector.ErrAuth,
	"InvalidSignatureException":           connector.ErrAuth,
	"SignatureDoesNotMatch":               connector.ErrAuth,
	"IncompleteSignature":                 connector.ErrAuth,
	"IncompleteSignatureException":        connector.ErrAuth,
	"MissingAuthenticationToken":          connector.ErrAuth,
	"MissingAuthenticationTokenException": connector.ErrAuth,
	"InvalidClientTokenId":                connector.ErrAuth,
	"ExpiredToken":                        connector.ErrAuth,
	"ExpiredTokenException":               connector.ErrAuth,
	"AccessDenied":                        connector.ErrAuth,
	"AccessDeniedException":               connector.ErrAuth,

	"RequestExpired":                connector.ErrTemporary,
	"RequestTimeTooSkewed":          connector.ErrTemporary,
	"InternalServiceErrorException": connector.ErrTemporary,
	"InternalFailure":               connector.ErrTemporary,
	"ServiceUnavailable":            connector.ErrTemporary,
}

// classify turns an SDK error into a connector error: the SES error code
// first, the HTTP status next, and anything without a response is a
// transport error. Provider messages are bounded and secrets masked.
func classify(err error, secrets []string) error {
	if errors.Is(err, context.Canceled) {
		return err
	}
	status, header := 0, http.Header{}
	var re *awshttp.ResponseError
	if errors.As(err, &re) && re.Response != nil {
		status, header = re.HTTPStatusCode(), re.Response.Header
	}
	var ce *credentialsError
	if errors.As(err, &ce) {
		if errors.Is(err, context.DeadlineExceeded) {
			return connector.NetworkError(err)
		}
		return &connector.Error{Kind: connector.ErrAuth, Code: "NoCredentials", Message: connector.Snippet(ce.Error(), secrets...)}
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		return apiError(status, header, api.ErrorCode(), api.ErrorMessage(), secrets)
	}
	if status != 0 {
		// A response SES's protocol could not decode, such as a proxy's page.
		return apiError(status, header, "", err.Error(), secrets)
	}
	return connector.NetworkError(err)
}

func apiError(status int, header http.Header, code, message string, secrets []string) error {
	err := connector.HTTPStatusError(status, header, nil, code, message, secrets...)
	e, ok := err.(*connector.Error)
	if !ok {
		return err
	}
	if kind, known := codeKinds[code]; known {
		e.Kind = kind
	}
	if e.Kind == connector.ErrRateLimited && e.RetryAfter == 0 {
		e.RetryAfter = connector.ParseRetryAfter(header.Get("Retry-After"), time.Now())
	}
	return e
}
