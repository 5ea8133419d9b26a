package awsses

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/authmail/authmail/connector/connectortest"
)

const (
	testKeyID  = "AKIDTESTEXAMPLE"
	testSecret = "wJalrXUtnFEMI-test-secret-K7MDENG"
	testRegion = "eu-west-3"
)

// The request body of SES v2 SendEmail, as documented
// (https://docs.aws.amazon.com/ses/latest/APIReference-V2/API_SendEmail.html).
// Decoding uses DisallowUnknownFields, so a misspelt field fails the test.
type sendEmailRequest struct {
	ConfigurationSetName *string
	Content              *struct {
		Simple *struct {
			Subject *sesContent
			Body    *struct {
				Html *sesContent
				Text *sesContent
			}
			Headers []struct{ Name, Value string }
		}
		Raw      *json.RawMessage
		Template *json.RawMessage
	}
	Destination *struct {
		ToAddresses, CcAddresses, BccAddresses []string
	}
	EmailTags                                 []struct{ Name, Value string }
	FeedbackForwardingEmailAddress            *string
	FeedbackForwardingEmailAddressIdentityArn *string
	FromEmailAddress                          *string
	FromEmailAddressIdentityArn               *string
	ReplyToAddresses                          []string
	ListManagementOptions                     *json.RawMessage
	EndpointId                                *string
	TenantName                                *string
	ConfigurationOverrides                    *json.RawMessage
}

type sesContent struct{ Data, Charset string }

// sesBackend is an SES v2 endpoint: it checks the SigV4 signature with the
// test secret, decodes the documented body strictly, and answers like SES.
type sesBackend struct {
	t      *testing.T
	srv    *httptest.Server
	region string
	extra  map[string]any // merged into Config()

	mu       sync.Mutex
	fail     connectortest.Failure
	received []connectortest.Received
	requests []sendEmailRequest
	scopes   []string
	// account shapes GET /v2/email/account: denied answers
	// AccessDeniedException (a send-only policy), paused reports sending
	// disabled.
	accountDenied, sendingPaused bool
}

func newSESBackend(t *testing.T) *sesBackend {
	b := &sesBackend{t: t, region: testRegion}
	b.srv = httptest.NewServer(http.HandlerFunc(b.serve))
	t.Cleanup(b.srv.Close)
	return b
}

func (b *sesBackend) Config() json.RawMessage {
	cfg := map[string]any{
		"accessKeyId":     testKeyID,
		"accessKeySecret": testSecret,
		"region":          b.region,
		"emailAddress":    "no-reply@example.com",
		"endpoint":        b.srv.URL,
		"timeout":         5000,
	}
	for k, v := range b.extra {
		cfg[k] = v
	}
	raw, _ := json.Marshal(cfg)
	return raw
}

func (b *sesBackend) Received() []connectortest.Received {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]connectortest.Received(nil), b.received...)
}

func (b *sesBackend) Fail(f connectortest.Failure) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.fail = f
}

func (b *sesBackend) lastRequest() sendEmailRequest {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.requests) == 0 {
		b.t.Fatal("backend got no request")
	}
	return b.requests[len(b.requests)-1]
}

func (b *sesBackend) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if r.Method == http.MethodGet && r.URL.Path == "/v2/email/account" {
		b.serveAccount(w, r, body)
		return
	}
	if r.Method != http.MethodPost || r.URL.Path != "/v2/email/outbound-emails" {
		b.t.Errorf("request %s %s, want POST /v2/email/outbound-emails", r.Method, r.URL.Path)
		sesError(w, http.StatusNotFound, "NotFoundException", "no such route")
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		b.t.Errorf("Content-Type = %q, want application/json", ct)
	}
	b.mu.Lock()
	fail := b.fail
	b.mu.Unlock()
	if fail == connectortest.FailAuth {
		sesError(w, http.StatusForbidden, "UnrecognizedClientException", "The security token included in the request is invalid.")
		return
	}
	scope, err := b.verifySignature(r, body)
	if err != nil {
		b.t.Errorf("signature check: %v", err)
		sesError(w, http.StatusForbidden, "InvalidSignatureException", err.Error())
		return
	}
	var req sendEmailRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		b.t.Errorf("decoding SendEmail body: %v\n%s", err, body)
		sesError(w, http.StatusBadRequest, "BadRequestException", err.Error())
		return
	}
	switch fail {
	case connectortest.FailReject:
		// SES echoing something secret proves the connector masks it.
		sesError(w, http.StatusBadRequest, "MessageRejected", "Email address is not verified (key "+testSecret+").")
		return
	case connectortest.FailRateLimit:
		w.Header().Set("Retry-After", "7")
		sesError(w, http.StatusTooManyRequests, "TooManyRequestsException", "Too Many Requests")
		return
	case connectortest.FailTemporary:
		sesError(w, http.StatusInternalServerError, "InternalServiceErrorException", "internal error")
		return
	case connectortest.FailSlow:
		<-r.Context().Done()
		return
	}
	got, err := received(req)
	if err != nil {
		b.t.Errorf("SendEmail request: %v\n%s", err, body)
		sesError(w, http.StatusBadRequest, "BadRequestException", err.Error())
		return
	}
	b.mu.Lock()
	b.received = append(b.received, got)
	b.requests = append(b.requests, req)
	b.scopes = append(b.scopes, scope)
	n := len(b.received)
	b.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"MessageId":"0100018f-ses-%d"}`, n)
}

// serveAccount answers GetAccount (GET /v2/email/account) as SES
// documents it: the signature is verified (a wrong secret is
// InvalidSignatureException), then the account's sending settings.
func (b *sesBackend) serveAccount(w http.ResponseWriter, r *http.Request, body []byte) {
	b.mu.Lock()
	fail, denied, paused := b.fail, b.accountDenied, b.sendingPaused
	b.mu.Unlock()
	if fail == connectortest.FailAuth {
		sesError(w, http.StatusForbidden, "UnrecognizedClientException", "The security token included in the request is invalid.")
		return
	}
	if _, err := b.verifySignature(r, body); err != nil {
		sesError(w, http.StatusForbidden, "InvalidSignatureException", "The request signature we calculated does not match the signature you provided.")
		return
	}
	switch {
	case denied:
		sesError(w, http.StatusForbidden, "AccessDeniedException", "User: arn:aws:iam::123456789012:user/mailer is not authorized to perform: ses:GetAccount")
		return
	case fail == connectortest.FailRateLimit:
		w.Header().Set("Retry-After", "7")
		sesError(w, http.StatusTooManyRequests, "TooManyRequestsException", "Too Many Requests")
		return
	case fail == connectortest.FailTemporary:
		sesError(w, http.StatusInternalServerError, "InternalServiceErrorException", "internal error")
		return
	case fail == connectortest.FailSlow:
		<-r.Context().Done()
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"DedicatedIpAutoWarmupEnabled": false, "EnforcementStatus": "HEALTHY", "ProductionAccessEnabled": true,
		"SendingEnabled": !paused,
		"SendQuota":      map[string]float64{"Max24HourSend": 50000, "MaxSendRate": 14, "SentLast24Hours": 12},
	})
}

// sesError writes SES v2's error shape: the code in x-amzn-ErrorType, the
// message in a JSON body.
func sesError(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("x-amzn-ErrorType", code)
	w.Header().Set("x-amzn-RequestId", "11111111-2222-3333-4444-555555555555")
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"message": message})
}

// verifySignature re-signs a copy of r with the test secret and compares
// the Authorization headers. It returns the credential scope.
func (b *sesBackend) verifySignature(r *http.Request, body []byte) (string, error) {
	auth := r.Header.Get("Authorization")
	const algo = "AWS4-HMAC-SHA256 "
	if !strings.HasPrefix(auth, algo) {
		return "", fmt.Errorf("authorization %q is not SigV4", auth)
	}
	fields := map[string]string{}
	for _, part := range strings.Split(strings.TrimPrefix(auth, algo), ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		fields[k] = v
	}
	cred := strings.Split(fields["Credential"], "/")
	if len(cred) != 5 || cred[0] != testKeyID || cred[2] != b.region || cred[3] != "ses" || cred[4] != "aws4_request" {
		return "", fmt.Errorf("credential scope %q, want %s/<date>/%s/ses/aws4_request", fields["Credential"], testKeyID, b.region)
	}
	when, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if err != nil {
		return "", fmt.Errorf("X-Amz-Date: %v", err)
	}
	cp, _ := http.NewRequestWithContext(context.Background(), r.Method, "http://"+r.Host+r.URL.RequestURI(), bytes.NewReader(body))
	cp.ContentLength = r.ContentLength
	for _, h := range strings.Split(fields["SignedHeaders"], ";") {
		if h == "host" || h == "content-length" {
			continue
		}
		cp.Header[http.CanonicalHeaderKey(h)] = r.Header.Values(h)
	}
	sum := sha256.Sum256(body)
	creds := aws.Credentials{AccessKeyID: testKeyID, SecretAccessKey: testSecret}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, cp, hex.EncodeToString(sum[:]), "ses", b.region, when); err != nil {
		return "", err
	}
	if want := cp.Header.Get("Authorization"); want != auth {
		return "", fmt.Errorf("signature mismatch:\n got %s\nwant %s", auth, want)
	}
	return strings.Join(cred[2:], "/"), nil
}

// received checks the documented required parts and normalises req.
func received(req sendEmailRequest) (connectortest.Received, error) {
	var got connectortest.Received
	if req.Destination == nil || len(req.Destination.ToAddresses) != 1 {
		return got, fmt.Errorf("want exactly one ToAddresses entry")
	}
	if req.Content == nil || req.Content.Simple == nil || req.Content.Simple.Subject == nil || req.Content.Simple.Body == nil {
		return got, fmt.Errorf("want Content.Simple with Subject and Body")
	}
	simple := req.Content.Simple
	for name, c := range map[string]*sesContent{"Subject": simple.Subject, "Body.Html": simple.Body.Html, "Body.Text": simple.Body.Text} {
		if c != nil && c.Charset != "UTF-8" {
			return got, fmt.Errorf("%s charset %q, want UTF-8", name, c.Charset)
		}
	}
	if req.FromEmailAddress == nil {
		return got, fmt.Errorf("no FromEmailAddress")
	}
	from, err := mail.ParseAddress(*req.FromEmailAddress)
	if err != nil {
		return got, fmt.Errorf("FromEmailAddress %q: %v", *req.FromEmailAddress, err)
	}
	got = connectortest.Received{
		To:       req.Destination.ToAddresses[0],
		From:     from.Address,
		FromName: from.Name,
		Subject:  simple.Subject.Data,
	}
	if simple.Body.Html != nil {
		got.HTML = simple.Body.Html.Data
	}
	if simple.Body.Text != nil {
		got.Text = simple.Body.Text.Data
	}
	if len(req.ReplyToAddresses) > 0 {
		a, err := mail.ParseAddress(req.ReplyToAddresses[0])
		if err != nil {
			return got, fmt.Errorf("ReplyToAddresses: %v", err)
		}
		got.ReplyTo = a.Address
	}
	for _, h := range simple.Headers {
		if h.Name == MessageIDHeader {
			got.MessageID = h.Value
		}
	}
	return got, nil
}
