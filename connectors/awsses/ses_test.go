package awsses

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authmail/authmail/connector"
	"github.com/authmail/authmail/connector/connectortest"
)

func testEnv() connector.Env { return connectortest.Env(io.Discard) }

func build(t *testing.T, raw json.RawMessage, env connector.Env) *Connector {
	t.Helper()
	return connectortest.Build(t, ID, raw, env).(*Connector)
}

// keys is the credentials part of the invalid configs that are wrong elsewhere.
const keys = `"accessKeyId":"AKID","accessKeySecret":"s",`

var invalidConfigs = []connectortest.InvalidConfig{
	connectortest.Invalid("NoRegion", `{`+keys+`"emailAddress":"a@example.com"}`, "region"),
	connectortest.Invalid("EmptyRegion", `{`+keys+`"region":"","emailAddress":"a@example.com"}`, "region"),
	connectortest.Invalid("BadRegion", `{`+keys+`"region":"US East","emailAddress":"a@example.com"}`, "region"),
	connectortest.Invalid("NoEmailAddress", `{`+keys+`"region":"us-east-1"}`, "emailAddress"),
	connectortest.Invalid("BadEmailAddress", `{`+keys+`"region":"us-east-1","emailAddress":"not an address"}`, "emailAddress"),
	connectortest.Invalid("NoKeysAndNoAmbientOptIn", `{"region":"us-east-1","emailAddress":"a@example.com"}`, "accessKeyId"),
	connectortest.Invalid("KeyIDWithoutSecret", `{"region":"us-east-1","emailAddress":"a@example.com","accessKeyId":"AKID"}`, "accessKeySecret"),
	connectortest.Invalid("SecretWithoutKeyID", `{"region":"us-east-1","emailAddress":"a@example.com","accessKeySecret":"s"}`, "accessKeyId"),
	connectortest.Invalid("TokenWithoutKeys", `{"region":"us-east-1","emailAddress":"a@example.com","sessionToken":"t"}`, "sessionToken"),
	connectortest.Invalid("AmbientWithKeys", `{`+keys+`"credentials":"ambient","region":"us-east-1","emailAddress":"a@example.com"}`, "credentials"),
	connectortest.Invalid("UnknownCredentials", `{"credentials":"instance","region":"us-east-1","emailAddress":"a@example.com"}`, "credentials"),
	connectortest.Invalid("AmbientToEndpointWithoutOptIn", `{"credentials":"ambient","region":"us-east-1","emailAddress":"a@example.com","endpoint":"https://vpce.example.com"}`, "endpoint"),
	connectortest.Invalid("BadReplyTo", `{`+keys+`"region":"us-east-1","emailAddress":"a@example.com","replyTo":"nope"}`, "replyTo"),
	connectortest.Invalid("HTTPEndpointNotLoopback", `{`+keys+`"region":"us-east-1","emailAddress":"a@example.com","endpoint":"http://email.example.com"}`, "endpoint"),
	connectortest.Invalid("EndpointNotURL", `{`+keys+`"region":"us-east-1","emailAddress":"a@example.com","endpoint":"email.example.com"}`, "endpoint"),
	connectortest.Invalid("TimeoutTooLong", `{`+keys+`"region":"us-east-1","emailAddress":"a@example.com","timeout":"10m"}`, "timeout"),
	connectortest.Invalid("RegionNotString", `{`+keys+`"region":1,"emailAddress":"a@example.com"}`, "region"),
	connectortest.Invalid("BadUsageType", `{`+keys+`"region":"us-east-1","emailAddress":"a@example.com","templates":[{"usageType":"Nope","subject":"s","content":"c"}]}`, "templates.0.usageType"),
}

func TestConformance(t *testing.T) {
	connectortest.Run(t, connectortest.Suite{
		Factory:        Factory(),
		NewBackend:     func(t *testing.T) connectortest.Backend { return newSESBackend(t) },
		InvalidConfigs: invalidConfigs,
		Secrets:        []string{testSecret},
		RetryAfter:     7 * time.Second,
	})
}

func TestSendEmailCarriesEveryField(t *testing.T) {
	b := newSESBackend(t)
	b.extra = map[string]any{
		"emailAddress":                              "Logto <no-reply@example.com>",
		"senderName":                                "Example Team",
		"replyTo":                                   "Support <support@example.com>",
		"configurationSetName":                      "authmail-events",
		"emailAddressIdentityArn":                   "arn:aws:ses:eu-west-3:123456789012:identity/example.com",
		"feedbackForwardingEmailAddress":            "bounces@example.com",
		"feedbackForwardingEmailAddressIdentityArn": "arn:aws:ses:eu-west-3:123456789012:identity/bounces.example.com",
	}
	c := build(t, b.Config(), testEnv())
	msg := connectortest.Message("msg.42@host")
	msg.Headers = map[string]string{"X-Campaign": "signin", "From": "evil@example.net", "Bad:Name": "x"}
	rc, err := c.Send(context.Background(), msg)
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	if rc.ProviderMessageID != "0100018f-ses-1" {
		t.Errorf("receipt = %q, want the SES MessageId", rc.ProviderMessageID)
	}
	req := b.lastRequest()
	eq := func(name string, got *string, want string) {
		t.Helper()
		if got == nil || *got != want {
			t.Errorf("%s = %v, want %q", name, deref(got), want)
		}
	}
	eq("FromEmailAddress", req.FromEmailAddress, `"Example Team" <no-reply@example.com>`)
	eq("FromEmailAddressIdentityArn", req.FromEmailAddressIdentityArn, "arn:aws:ses:eu-west-3:123456789012:identity/example.com")
	eq("FeedbackForwardingEmailAddress", req.FeedbackForwardingEmailAddress, "bounces@example.com")
	eq("FeedbackForwardingEmailAddressIdentityArn", req.FeedbackForwardingEmailAddressIdentityArn, "arn:aws:ses:eu-west-3:123456789012:identity/bounces.example.com")
	eq("ConfigurationSetName", req.ConfigurationSetName, "authmail-events")
	if got := req.Destination.ToAddresses; len(got) != 1 || got[0] != "alice@example.com" || req.Destination.CcAddresses != nil || req.Destination.BccAddresses != nil {
		t.Errorf("Destination = %+v, want only alice@example.com", req.Destination)
	}
	if got := req.ReplyToAddresses; len(got) != 1 || got[0] != `"Support" <support@example.com>` {
		t.Errorf("ReplyToAddresses = %q", got)
	}
	s := req.Content.Simple
	if s.Subject.Data != msg.Subject || s.Body.Html.Data != msg.HTML || s.Body.Text.Data != msg.Text {
		t.Errorf("content = %+v, want the message's subject, HTML and text", s)
	}
	if req.Content.Raw != nil || req.Content.Template != nil {
		t.Errorf("want Simple content only")
	}
	if len(req.EmailTags) != 1 || req.EmailTags[0].Name != "authmail-message-id" || req.EmailTags[0].Value != "msg_42_host" {
		t.Errorf("EmailTags = %+v, want authmail-message-id=msg_42_host", req.EmailTags)
	}
	wantHeaders := []struct{ Name, Value string }{{"X-Authmail-Message-Id", "msg.42@host"}, {"X-Campaign", "signin"}}
	if len(s.Headers) != len(wantHeaders) {
		t.Fatalf("Headers = %+v, want %+v", s.Headers, wantHeaders)
	}
	for i, h := range wantHeaders {
		if s.Headers[i] != h {
			t.Errorf("header %d = %+v, want %+v", i, s.Headers[i], h)
		}
	}
	if req.ListManagementOptions != nil || req.EndpointId != nil || req.TenantName != nil || req.ConfigurationOverrides != nil {
		t.Errorf("unexpected optional fields set: %+v", req)
	}
}

func deref(s *string) any {
	if s == nil {
		return nil
	}
	return *s
}

func TestMessageOverridesSenderAndReplyTo(t *testing.T) {
	b := newSESBackend(t)
	b.extra = map[string]any{"senderName": "Configured", "replyTo": "configured@example.com"}
	c := build(t, b.Config(), testEnv())
	msg := connectortest.Message("m1")
	msg.HTML = ""
	msg.From = connector.Address{Name: "Override", Email: "alt@example.com"}
	msg.ReplyTo = connector.Address{Email: "reply@example.com"}
	if _, err := c.Send(context.Background(), msg); err != nil {
		t.Fatalf("Send: %v", err)
	}
	got := b.Received()[0]
	if got.From != "alt@example.com" || got.FromName != "Override" || got.ReplyTo != "reply@example.com" {
		t.Errorf("got from %q %q reply-to %q", got.FromName, got.From, got.ReplyTo)
	}
	if req := b.lastRequest(); req.Content.Simple.Body.Html != nil {
		t.Errorf("a text-only message sent an HTML part")
	}
}

func TestLogtoConfigAcceptedUnchanged(t *testing.T) {
	raw := json.RawMessage(`{
	  "accessKeyId": "AKIAIOSFODNN7EXAMPLE",
	  "accessKeySecret": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
	  "region": "us-east-1",
	  "emailAddress": "Logto <noreply@example.com>",
	  "emailAddressIdentityArn": "arn:aws:ses:us-east-1:123456789012:identity/example.com",
	  "feedbackForwardingEmailAddress": "feedback@example.com",
	  "feedbackForwardingEmailAddressIdentityArn": "arn:aws:ses:us-east-1:123456789012:identity/feedback@example.com",
	  "configurationSetName": "logto",
	  "templates": [
	    {"usageType": "SignIn", "subject": "Sign in", "content": "<p>Code {{code}}</p>"},
	    {"usageType": "Register", "subject": "Register", "content": "<p>Code {{code}}</p>"},
	    {"usageType": "ForgotPassword", "subject": "Reset", "content": "<p>Code {{code}}</p>"},
	    {"usageType": "Generic", "subject": "Code", "content": "<p>Code {{code}}</p>"}
	  ]
	}`)
	for _, id := range []string{ID, AliasLogto} {
		c, err := connector.Build(context.Background(), id, raw, testEnv())
		if err != nil {
			t.Fatalf("Build(%s): %v", id, err)
		}
		ts := c.(connector.TemplateSource).Templates()
		if len(ts) != 4 || ts[0].UsageType != connector.UsageSignIn || ts[3].Content != "<p>Code {{code}}</p>" || ts[0].ContentType != "text/html" {
			t.Errorf("templates = %+v", ts)
		}
	}
}

// roundTrip is an http.RoundTripper that records the request and answers
// like SES without touching the network.
type roundTrip struct{ got atomic.Pointer[http.Request] }

func (rt *roundTrip) RoundTrip(r *http.Request) (*http.Response, error) {
	rt.got.Store(r)
	return &http.Response{
		StatusCode: 200,
		Header:     http.Header{"Content-Type": {"application/json"}},
		Body:       io.NopCloser(strings.NewReader(`{"MessageId":"m"}`)),
		Request:    r,
	}, nil
}

func TestRegionRoutesAndSigns(t *testing.T) {
	for _, region := range []string{"us-east-1", "eu-central-1", "ap-southeast-2"} {
		t.Run(region, func(t *testing.T) {
			rt := &roundTrip{}
			env := testEnv()
			env.HTTPClient = &http.Client{Transport: rt}
			raw := json.RawMessage(`{"accessKeyId":"AKID","accessKeySecret":"focused-test-secret","region":"` + region + `","emailAddress":"a@example.com"}`)
			if _, err := build(t, raw, env).Send(context.Background(), connectortest.Message("m")); err != nil {
				t.Fatalf("Send: %v", err)
			}
			r := rt.got.Load()
			if want := "https://email." + region + ".amazonaws.com/v2/email/outbound-emails"; r.URL.String() != want {
				t.Errorf("URL = %s, want %s", r.URL, want)
			}
			if auth := r.Header.Get("Authorization"); !strings.Contains(auth, "/"+region+"/ses/aws4_request") {
				t.Errorf("Authorization %q lacks the %s scope", auth, region)
			}
		})
	}
	t.Run("SigningScopeAtBackend", func(t *testing.T) {
		b := newSESBackend(t)
		b.region = "ap-southeast-2"
		if _, err := build(t, b.Config(), testEnv()).Send(context.Background(), connectortest.Message("m")); err != nil {
			t.Fatalf("Send: %v", err)
		}
		if b.scopes[0] != "ap-southeast-2/ses/aws4_request" {
			t.Errorf("scope = %q", b.scopes[0])
		}
	})
}

func TestEndpointOverride(t *testing.T) {
	rt := &roundTrip{}
	env := testEnv()
	env.HTTPClient = &http.Client{Transport: rt}
	raw := json.RawMessage(`{"accessKeyId":"AKID","accessKeySecret":"focused-test-secret","region":"us-west-2","emailAddress":"a@example.com","endpoint":"https://vpce-0abc.email.us-west-2.vpce.amazonaws.com/"}`)
	if _, err := build(t, raw, env).Send(context.Background(), connectortest.Message("m")); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if got, want := rt.got.Load().URL.String(), "https://vpce-0abc.email.us-west-2.vpce.amazonaws.com/v2/email/outbound-emails"; got != want {
		t.Errorf("URL = %s, want %s", got, want)
	}
	if auth := rt.got.Load().Header.Get("Authorization"); !strings.Contains(auth, "/us-west-2/ses/aws4_request") {
		t.Errorf("Authorization %q: the override must keep the region's signing scope", auth)
	}
}

// isolateAWS points the AWS default chain at nothing but the environment.
func isolateAWS(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("AWS_CONFIG_FILE", dir+"/config")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", dir+"/credentials")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	for _, k := range []string{"AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN",
		"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SESV2", "AWS_CA_BUNDLE"} {
		t.Setenv(k, "")
	}
}

func TestDefaultCredentialChain(t *testing.T) {
	isolateAWS(t)
	t.Setenv("AWS_ACCESS_KEY_ID", testKeyID)
	t.Setenv("AWS_SECRET_ACCESS_KEY", testSecret)
	b := newSESBackend(t)
	var cfg map[string]any
	_ = json.Unmarshal(b.Config(), &cfg)
	delete(cfg, "accessKeyId")
	delete(cfg, "accessKeySecret")
	cfg["credentials"], cfg["ambientCredentialsToEndpoint"] = "ambient", true
	raw, _ := json.Marshal(cfg)
	if _, err := build(t, raw, testEnv()).Send(context.Background(), connectortest.Message("m")); err != nil {
		t.Fatalf("Send with credentials from the environment: %v", err)
	}
	if len(b.Received()) != 1 {
		t.Fatalf("backend got %d messages", len(b.Received()))
	}
}

func TestNoCredentialsIsAuthError(t *testing.T) {
	isolateAWS(t)
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	b := newSESBackend(t)
	raw := json.RawMessage(`{"credentials":"ambient","ambientCredentialsToEndpoint":true,"region":"us-east-1","emailAddress":"a@example.com","endpoint":"` + b.srv.URL + `"}`)
	_, err := build(t, raw, testEnv()).Send(context.Background(), connectortest.Message("m"))
	var ce *connector.Error
	if !errors.Is(err, connector.ErrAuth) || !errors.As(err, &ce) || ce.Code != "NoCredentials" {
		t.Fatalf("error = %v, want ErrAuth [NoCredentials]", err)
	}
}

func TestErrorClassification(t *testing.T) {
	cases := []struct {
		status int
		code   string
		want   error
	}{
		{403, "AccessDeniedException", connector.ErrAuth},
		{403, "InvalidSignatureException", connector.ErrAuth},
		{400, "MailFromDomainNotVerifiedException", connector.ErrRejected},
		{400, "AccountSuspendedException", connector.ErrRejected},
		{400, "SendingPausedException", connector.ErrRejected},
		{404, "NotFoundException", connector.ErrRejected},
		{400, "BadRequestException", connector.ErrRejected},
		{400, "LimitExceededException", connector.ErrRateLimited},
		{400, "Throttling", connector.ErrRateLimited},
		{429, "TooManyRequestsException", connector.ErrRateLimited},
		{503, "", connector.ErrTemporary},
		{502, "html", connector.ErrTemporary},
	}
	for _, tc := range cases {
		t.Run(tc.code+"_"+http.StatusText(tc.status), func(t *testing.T) {
			var calls atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				calls.Add(1)
				if tc.code == "html" {
					w.WriteHeader(tc.status)
					_, _ = io.WriteString(w, "<html>Bad Gateway</html>")
					return
				}
				sesError(w, tc.status, tc.code, "provider says "+tc.code)
			}))
			defer srv.Close()
			raw := json.RawMessage(`{"accessKeyId":"AKID","accessKeySecret":"focused-test-secret","region":"us-east-1","emailAddress":"a@example.com","endpoint":"` + srv.URL + `"}`)
			_, err := build(t, raw, testEnv()).Send(context.Background(), connectortest.Message("m"))
			if !errors.Is(err, tc.want) {
				t.Fatalf("error = %v, want %v", err, tc.want)
			}
			var ce *connector.Error
			if !errors.As(err, &ce) || ce.Status != tc.status {
				t.Errorf("error %#v does not carry status %d", err, tc.status)
			}
			if tc.code != "" && tc.code != "html" && (ce.Code != tc.code || ce.Message != "provider says "+tc.code) {
				t.Errorf("code/message = %q/%q", ce.Code, ce.Message)
			}
			if n := calls.Load(); n != 1 {
				t.Errorf("SES got %d requests, want 1 (no SDK retries)", n)
			}
		})
	}
}

func TestTransportErrorIsTemporary(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	raw := json.RawMessage(`{"accessKeyId":"AKID","accessKeySecret":"focused-test-secret","region":"us-east-1","emailAddress":"a@example.com","endpoint":"` + url + `"}`)
	_, err := build(t, raw, testEnv()).Send(context.Background(), connectortest.Message("m"))
	if !errors.Is(err, connector.ErrTemporary) {
		t.Fatalf("error = %v, want ErrTemporary", err)
	}
}

func TestTagValue(t *testing.T) {
	for in, want := range map[string]string{"abc-DEF_09": "abc-DEF_09", "a.b@c d": "a_b_c_d", "é": "_", strings.Repeat("x", 300): strings.Repeat("x", 256)} {
		if got := tagValue(in); got != want {
			t.Errorf("tagValue(%q) = %q, want %q", in, got, want)
		}
	}
}
