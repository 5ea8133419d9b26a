package aliyundm

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
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

const base = `"accessKeyId":"LTAI","accessKeySecret":"secret-value","accountName":"a@mail.example.com"`

var invalidConfigs = []connectortest.InvalidConfig{
	connectortest.Invalid("NoAccessKeyID", `{"accessKeySecret":"x","accountName":"a@mail.example.com"}`, "accessKeyId"),
	connectortest.Invalid("NoAccessKeySecret", `{"accessKeyId":"LTAI","accountName":"a@mail.example.com"}`, "accessKeySecret"),
	connectortest.Invalid("EmptyAccessKeySecret", `{"accessKeyId":"LTAI","accessKeySecret":"","accountName":"a@mail.example.com"}`, "accessKeySecret"),
	connectortest.Invalid("NoAccountName", `{"accessKeyId":"LTAI","accessKeySecret":"x"}`, "accountName"),
	connectortest.Invalid("BadAccountName", `{`+base[:strings.Index(base, `,"accountName"`)]+`,"accountName":"not an address"}`, "accountName"),
	connectortest.Invalid("AccountNameWithName", `{`+base[:strings.Index(base, `,"accountName"`)]+`,"accountName":"Me <a@mail.example.com>"}`, "accountName"),
	connectortest.Invalid("UnknownRegion", `{`+base+`,"regionId":"cn-shanghai"}`, "regionId"),
	connectortest.Invalid("HTTPEndpointNotLoopback", `{`+base+`,"endpoint":"http://dm.aliyuncs.com/"}`, "endpoint"),
	connectortest.Invalid("EndpointNotURL", `{`+base+`,"endpoint":"dm.aliyuncs.com"}`, "endpoint"),
	connectortest.Invalid("BadReplyTo", `{`+base+`,"replyTo":"nobody"}`, "replyTo"),
	connectortest.Invalid("BadTagName", `{`+base+`,"tagName":"not a tag!"}`, "tagName"),
	connectortest.Invalid("TimeoutTooLong", `{`+base+`,"timeout":"1h"}`, "timeout"),
	connectortest.Invalid("BadUsageType", `{`+base+`,"templates":[{"usageType":"Nope","subject":"s","content":"c"}]}`, "templates.0.usageType"),
}

func TestConformance(t *testing.T) {
	connectortest.Run(t, connectortest.Suite{
		Factory:        Factory(),
		NewBackend:     func(t *testing.T) connectortest.Backend { return newDMBackend(t) },
		InvalidConfigs: invalidConfigs,
		Secrets:        []string{testSecret},
		// DirectMail's throttling answer carries no Retry-After.
		RetryAfter: 0,
	})
}

// TestSignatureDocumentedExample checks the signer against the worked
// example of Alibaba Cloud's RPC signature documentation ("Signature
// mechanism", Example 1: AccessKeyId testid, AccessKeySecret testsecret,
// signing key "testsecret&"). The documented string-to-sign and signature
// OLeaidS1JvxuMvnyHOwuJ+uX5qY= belong to the DescribeRegions request with
// nonce 3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf (current pages rename the
// action and mask the nonce but keep that signature); the value was
// re-checked with `openssl dgst -sha1 -hmac 'testsecret&' -binary | base64`.
func TestSignatureDocumentedExample(t *testing.T) {
	params := map[string]string{
		"Timestamp":        "2016-02-23T12:46:24Z",
		"Format":           "XML",
		"AccessKeyId":      "testid",
		"Action":           "DescribeRegions",
		"SignatureMethod":  "HMAC-SHA1",
		"SignatureNonce":   "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf",
		"Version":          "2014-05-26",
		"SignatureVersion": "1.0",
	}
	wantSTS := "GET&%2F&AccessKeyId%3Dtestid%26Action%3DDescribeRegions%26Format%3DXML%26SignatureMethod%3DHMAC-SHA1%26SignatureNonce%3D3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf%26SignatureVersion%3D1.0%26Timestamp%3D2016-02-23T12%253A46%253A24Z%26Version%3D2014-05-26"
	if got := stringToSign("GET", params); got != wantSTS {
		t.Errorf("StringToSign =\n%s\nwant\n%s", got, wantSTS)
	}
	if got := sign("GET", "testsecret", params); got != "OLeaidS1JvxuMvnyHOwuJ+uX5qY=" {
		t.Errorf("Signature = %s, want OLeaidS1JvxuMvnyHOwuJ+uX5qY=", got)
	}
	params["Signature"] = "ignored"
	if got := sign("GET", "testsecret", params); got != "OLeaidS1JvxuMvnyHOwuJ+uX5qY=" {
		t.Errorf("Signature must not cover itself: %s", got)
	}
}

func TestPercentEncode(t *testing.T) {
	for in, want := range map[string]string{
		"AZaz09-_.~": "AZaz09-_.~",
		"a b":        "a%20b",
		"a+b*c":      "a%2Bb%2Ac",
		"!'()":       "%21%27%28%29",
		"/:=&":       "%2F%3A%3D%26",
		"é✓":         "%C3%A9%E2%9C%93",
	} {
		if got := percentEncode(in); got != want {
			t.Errorf("percentEncode(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSingleSendMailParameters(t *testing.T) {
	b := newDMBackend(t)
	b.region = "eu-central-1"
	b.extra = map[string]any{"replyTo": "Support Team <support@example.com>", "tagName": "auth_codes"}
	c := build(t, b.Config(), testEnv())
	msg := connectortest.Message("msg-1")
	msg.Headers = map[string]string{"X-User-Tenant": "acme", "X-Other": "dropped"}
	rc, err := c.Send(context.Background(), msg)
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	if rc.ProviderMessageID != "60000001" {
		t.Errorf("receipt = %q, want the EnvId", rc.ProviderMessageID)
	}
	p := b.last()
	want := map[string]string{
		"AccountName": "no-reply@mail.example.com", "ToAddress": "alice@example.com", "FromAlias": "Example",
		"Subject": msg.Subject, "HtmlBody": msg.HTML, "TextBody": msg.Text, "ReplyToAddress": "false",
		"ReplyAddress": "support@example.com", "ReplyAddressAlias": "Support Team", "TagName": "auth_codes",
		"RegionId": "eu-central-1", "AddressType": "1",
		"Headers": `{"X-User-Authmail-Message-Id":"msg-1","X-User-Tenant":"acme"}`,
	}
	for k, v := range want {
		if p.Get(k) != v {
			t.Errorf("%s = %q, want %q", k, p.Get(k), v)
		}
	}
	if _, ok := p["ClickTrace"]; ok {
		t.Errorf("ClickTrace sent")
	}
}

func TestReplyToAndSenderOverrides(t *testing.T) {
	b := newDMBackend(t)
	b.extra = map[string]any{"consoleReplyTo": true}
	c := build(t, b.Config(), testEnv())
	msg := connectortest.Message("m1")
	msg.HTML = ""
	if _, err := c.Send(context.Background(), msg); err != nil {
		t.Fatalf("Send: %v", err)
	}
	p := b.last()
	if p.Get("ReplyToAddress") != "true" || p.Has("ReplyAddress") || p.Has("HtmlBody") {
		t.Errorf("console reply-to: %v", p)
	}
	msg.From = connector.Address{Name: "Équipe", Email: "team@mail.example.com"}
	msg.ReplyTo = connector.Address{Email: "r@example.com"}
	if _, err := c.Send(context.Background(), msg); err != nil {
		t.Fatalf("Send: %v", err)
	}
	p = b.last()
	if p.Get("ReplyToAddress") != "false" || p.Get("ReplyAddress") != "r@example.com" || p.Has("ReplyAddressAlias") ||
		p.Get("AccountName") != "team@mail.example.com" || p.Get("FromAlias") != "Équipe" {
		t.Errorf("overrides: %v", p)
	}
}

func TestLogtoConfigAcceptedUnchanged(t *testing.T) {
	raw := json.RawMessage(`{
	  "accessKeyId": "LTAI5tExample",
	  "accessKeySecret": "ExampleSecret",
	  "regionId": "ap-southeast-1",
	  "accountName": "noreply@mail.example.com",
	  "fromAlias": "Logto",
	  "templates": [
	    {"usageType": "SignIn", "subject": "Sign in", "content": "<p>{{code}}</p>"},
	    {"usageType": "Register", "subject": "Register", "content": "<p>{{code}}</p>"},
	    {"usageType": "ForgotPassword", "subject": "Reset", "content": "<p>{{code}}</p>"},
	    {"usageType": "Generic", "subject": "Code", "content": "<p>{{code}}</p>"}
	  ]
	}`)
	for _, id := range []string{ID, AliasLogto} {
		c, err := connector.Build(context.Background(), id, raw, testEnv())
		if err != nil {
			t.Fatalf("Build(%s): %v", id, err)
		}
		dm := c.(*Connector)
		if dm.s.endpoint != "https://dm.ap-southeast-1.aliyuncs.com/" {
			t.Errorf("endpoint = %s", dm.s.endpoint)
		}
		ts := dm.Templates()
		if len(ts) != 4 || ts[2].UsageType != connector.UsageForgotPassword || ts[2].ContentType != "text/html" {
			t.Errorf("templates = %+v", ts)
		}
	}
	// Without regionId, Logto's default region.
	c := build(t, json.RawMessage(`{`+base+`}`), testEnv())
	if c.s.cfg.RegionID != "cn-hangzhou" || c.s.endpoint != "https://dm.aliyuncs.com/" {
		t.Errorf("default region %q endpoint %q", c.s.cfg.RegionID, c.s.endpoint)
	}
}

// recorder answers like DirectMail without touching the network.
type recorder struct{ got atomic.Pointer[http.Request] }

func (rt *recorder) RoundTrip(r *http.Request) (*http.Response, error) {
	body, _ := io.ReadAll(r.Body)
	r2 := r.Clone(context.Background())
	r2.Form, _ = url.ParseQuery(string(body))
	rt.got.Store(r2)
	return &http.Response{StatusCode: 200, Header: http.Header{}, Request: r,
		Body: io.NopCloser(strings.NewReader(`{"EnvId":"1","RequestId":"r"}`))}, nil
}

func TestRegionRouting(t *testing.T) {
	for region, endpoint := range endpoints {
		t.Run(region, func(t *testing.T) {
			rt := &recorder{}
			env := testEnv()
			env.HTTPClient = &http.Client{Transport: rt}
			raw := json.RawMessage(`{` + base + `,"regionId":"` + region + `"}`)
			if _, err := build(t, raw, env).Send(context.Background(), connectortest.Message("m")); err != nil {
				t.Fatalf("Send: %v", err)
			}
			r := rt.got.Load()
			if r.URL.String() != endpoint || r.Method != http.MethodPost {
				t.Errorf("%s %s, want POST %s", r.Method, r.URL, endpoint)
			}
			if r.Form.Get("RegionId") != region {
				t.Errorf("RegionId = %q", r.Form.Get("RegionId"))
			}
		})
	}
}

func TestEndpointOverride(t *testing.T) {
	rt := &recorder{}
	env := testEnv()
	env.HTTPClient = &http.Client{Transport: rt}
	raw := json.RawMessage(`{` + base + `,"regionId":"cn-hangzhou","endpoint":"https://dm-vpc.cn-hangzhou.aliyuncs.com"}`)
	if _, err := build(t, raw, env).Send(context.Background(), connectortest.Message("m")); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if got := rt.got.Load().URL.String(); got != "https://dm-vpc.cn-hangzhou.aliyuncs.com/" {
		t.Errorf("URL = %s", got)
	}
	// A loopback http endpoint is allowed (tests, sidecar proxies).
	build(t, json.RawMessage(`{`+base+`,"endpoint":"http://127.0.0.1:8080/dm"}`), testEnv())
	// Any other http endpoint only when the host allows insecure endpoints.
	env = testEnv()
	env.AllowInsecureEndpoint = true
	build(t, json.RawMessage(`{`+base+`,"endpoint":"http://dm-proxy.internal/"}`), env)
}

func TestNonceAndTimestampFresh(t *testing.T) {
	b := newDMBackend(t)
	fixed := time.Date(2030, 1, 2, 3, 4, 5, 0, time.FixedZone("CST", 8*3600))
	env := testEnv()
	env.Now = func() time.Time { return fixed }
	rt := &recorder{}
	env.HTTPClient = &http.Client{Transport: rt}
	c := build(t, b.Config(), env)
	seen := map[string]bool{}
	for i := 0; i < 3; i++ {
		if _, err := c.Send(context.Background(), connectortest.Message("m")); err != nil {
			t.Fatal(err)
		}
		f := rt.got.Load().Form
		if f.Get("Timestamp") != "2030-01-01T19:04:05Z" {
			t.Errorf("Timestamp = %q, want UTC without fraction", f.Get("Timestamp"))
		}
		if n := f.Get("SignatureNonce"); n == "" || seen[n] {
			t.Errorf("nonce %q empty or reused", n)
		} else {
			seen[n] = true
		}
	}
}

func TestErrorClassification(t *testing.T) {
	cases := []struct {
		status int
		code   string
		want   error
	}{
		{400, "SignatureDoesNotMatch", connector.ErrAuth},
		{404, "InvalidAccessKeyId.NotFound", connector.ErrAuth},
		{403, "Forbidden.RAM", connector.ErrAuth},
		{400, "Throttling.User", connector.ErrRateLimited},
		{503, "Throttling", connector.ErrRateLimited},
		{400, "InvalidToAddress", connector.ErrRejected},
		{404, "InvalidMailAddress.NotFound", connector.ErrRejected},
		{400, "InvalidAccountName", connector.ErrRejected},
		{400, "InvalidSendMail.Spam", connector.ErrRejected},
		{500, "InternalError", connector.ErrTemporary},
		{503, "ServiceUnavailable", connector.ErrTemporary},
		{400, "SignatureNonceUsed", connector.ErrTemporary},
		{502, "", connector.ErrTemporary},
	}
	for _, tc := range cases {
		t.Run(tc.code, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tc.code == "" {
					w.WriteHeader(tc.status)
					_, _ = io.WriteString(w, "<html>bad gateway</html>")
					return
				}
				dmError(w, tc.status, tc.code, "says "+tc.code)
			}))
			defer srv.Close()
			_, err := build(t, json.RawMessage(`{`+base+`,"endpoint":"`+srv.URL+`"}`), testEnv()).Send(context.Background(), connectortest.Message("m"))
			if !errors.Is(err, tc.want) {
				t.Fatalf("error = %v, want %v", err, tc.want)
			}
			var ce *connector.Error
			if !errors.As(err, &ce) || ce.Status != tc.status || ce.Code != tc.code {
				t.Errorf("error %#v, want status %d code %q", err, tc.status, tc.code)
			}
			if tc.code != "" && !strings.Contains(ce.Message, "says "+tc.code+" (RequestId 5B2D7C4E-0000-4D3B-9C54-TEST)") {
				t.Errorf("message %q lacks the provider's message and request ID", ce.Message)
			}
		})
	}
}

func TestUnexpectedSuccessBody(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "<html>captive portal</html>")
	}))
	defer srv.Close()
	_, err := build(t, json.RawMessage(`{`+base+`,"endpoint":"`+srv.URL+`"}`), testEnv()).Send(context.Background(), connectortest.Message("m"))
	if !errors.Is(err, connector.ErrTemporary) {
		t.Fatalf("error = %v, want ErrTemporary", err)
	}
}
