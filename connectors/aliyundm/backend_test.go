package aliyundm

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authmail/authmail/connector/connectortest"
)

const (
	testKeyID  = "LTAI5tTestKeyId"
	testSecret = "TestSecret-4f9a-Do-Not-Leak"
)

// documentedParams are SingleSendMail's request parameters and the RPC
// common parameters, as documented
// (https://www.alibabacloud.com/help/en/direct-mail/api-dm-2015-11-23-singlesendmail).
var documentedParams = map[string]bool{
	"Action": true, "Format": true, "Version": true, "AccessKeyId": true, "Signature": true,
	"SignatureMethod": true, "SignatureVersion": true, "SignatureNonce": true, "Timestamp": true, "RegionId": true,
	"AccountName": true, "AddressType": true, "ReplyToAddress": true, "ToAddress": true, "Subject": true,
	"HtmlBody": true, "TextBody": true, "FromAlias": true, "TagName": true, "ClickTrace": true,
	"ReplyAddress": true, "ReplyAddressAlias": true, "Headers": true, "UnSubscribeLinkType": true,
	"UnSubscribeFilterLevel": true, "BccAddress": true, "IpPoolId": true,
}

// dmBackend is a DirectMail RPC endpoint: it recomputes the signature from
// the received parameters with the test secret, checks the documented
// parameters, and answers with DirectMail's JSON shapes.
type dmBackend struct {
	t      *testing.T
	srv    *httptest.Server
	extra  map[string]any
	region string

	mu       sync.Mutex
	fail     connectortest.Failure
	nonces   map[string]bool
	received []connectortest.Received
	params   []url.Values
	// domains are the account's DirectMail domains in region, which
	// QueryDomainByParam lists; ramDenied answers it Forbidden.RAM, as
	// for a RAM user allowed only to send.
	domains   []string
	ramDenied bool
}

func newDMBackend(t *testing.T) *dmBackend {
	b := &dmBackend{t: t, nonces: map[string]bool{}, region: "cn-hangzhou", domains: []string{"mail.example.com"}}
	b.srv = httptest.NewServer(http.HandlerFunc(b.serve))
	t.Cleanup(b.srv.Close)
	return b
}

func (b *dmBackend) Config() json.RawMessage {
	cfg := map[string]any{
		"accessKeyId":     testKeyID,
		"accessKeySecret": testSecret,
		"regionId":        b.region,
		"accountName":     "no-reply@mail.example.com",
		"fromAlias":       "Example",
		"endpoint":        b.srv.URL,
		"timeout":         "5s",
	}
	for k, v := range b.extra {
		cfg[k] = v
	}
	raw, _ := json.Marshal(cfg)
	return raw
}

func (b *dmBackend) Received() []connectortest.Received {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]connectortest.Received(nil), b.received...)
}

func (b *dmBackend) Fail(f connectortest.Failure) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.fail = f
}

func (b *dmBackend) last() url.Values {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.params) == 0 {
		b.t.Fatal("backend got no message")
	}
	return b.params[len(b.params)-1]
}

// dmError writes Alibaba Cloud's RPC error body.
func dmError(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{
		"RequestId": "5B2D7C4E-0000-4D3B-9C54-TEST",
		"HostId":    "dm.aliyuncs.com",
		"Code":      code,
		"Message":   message,
		"Recommend": "https://api.aliyun.com/troubleshoot?q=" + code,
	})
}

func (b *dmBackend) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		b.t.Errorf("method %s, want POST", r.Method)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
		b.t.Errorf("Content-Type %q", ct)
	}
	raw, _ := io.ReadAll(r.Body)
	form, err := url.ParseQuery(string(raw))
	if err != nil || len(r.URL.RawQuery) != 0 {
		b.t.Errorf("body is not a form (%v) or parameters in the URL (%q)", err, r.URL.RawQuery)
	}
	b.mu.Lock()
	fail := b.fail
	b.mu.Unlock()
	if fail == connectortest.FailAuth {
		dmError(w, http.StatusNotFound, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")
		return
	}
	if form.Get("Action") == "QueryDomainByParam" {
		b.serveQueryDomain(w, r, form, fail)
		return
	}
	if code, msg := b.check(form); code != "" {
		b.t.Errorf("%s: %s\nbody: %s", code, msg, raw)
		dmError(w, http.StatusBadRequest, code, msg)
		return
	}
	switch fail {
	case connectortest.FailReject:
		dmError(w, http.StatusBadRequest, "InvalidToAddress", "The specified toAddress is wrongly formed. key="+testSecret)
		return
	case connectortest.FailRateLimit:
		dmError(w, http.StatusBadRequest, "Throttling.User", "Request was denied due to user flow control.")
		return
	case connectortest.FailTemporary:
		dmError(w, http.StatusServiceUnavailable, "ServiceUnavailable", "The request has failed due to a temporary failure of the server.")
		return
	case connectortest.FailSlow:
		<-r.Context().Done()
		return
	}
	got := connectortest.Received{
		To:       form.Get("ToAddress"),
		From:     form.Get("AccountName"),
		FromName: form.Get("FromAlias"),
		ReplyTo:  form.Get("ReplyAddress"),
		Subject:  form.Get("Subject"),
		HTML:     form.Get("HtmlBody"),
		Text:     form.Get("TextBody"),
	}
	if h := form.Get("Headers"); h != "" {
		var hs map[string]string
		if err := json.Unmarshal([]byte(h), &hs); err != nil {
			b.t.Errorf("Headers %q is not a JSON object of strings: %v", h, err)
		}
		got.MessageID = hs[MessageIDHeader]
	}
	b.mu.Lock()
	b.received = append(b.received, got)
	b.params = append(b.params, form)
	n := len(b.received)
	b.mu.Unlock()
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	fmt.Fprintf(w, `{"EnvId":"6000000%d","RequestId":"REQ-%d"}`, n, n)
}

// check validates the request the way DirectMail does and returns its error
// code and message, or "" when the request is good.
func (b *dmBackend) check(form url.Values) (string, string) {
	for k, v := range form {
		if !documentedParams[k] {
			return "InvalidParameter", "undocumented parameter " + k
		}
		if len(v) != 1 {
			return "InvalidParameter", "repeated parameter " + k
		}
	}
	want := map[string]string{
		"Action": "SingleSendMail", "Format": "JSON", "Version": "2015-11-23", "SignatureMethod": "HMAC-SHA1",
		"SignatureVersion": "1.0", "AccessKeyId": testKeyID, "RegionId": b.region, "AddressType": "1",
	}
	for k, v := range want {
		if form.Get(k) != v {
			return "InvalidParameter", fmt.Sprintf("%s = %q, want %q", k, form.Get(k), v)
		}
	}
	for _, k := range []string{"AccountName", "ToAddress", "Subject", "SignatureNonce", "Signature"} {
		if form.Get(k) == "" {
			return "MissingParameter", k + " is mandatory"
		}
	}
	if v := form.Get("ReplyToAddress"); v != "true" && v != "false" {
		return "InvalidParameter", "ReplyToAddress must be the string true or false"
	}
	if form.Get("HtmlBody") == "" && form.Get("TextBody") == "" {
		return "InvalidBody", "HtmlBody or TextBody is required"
	}
	ts, err := time.Parse("2006-01-02T15:04:05Z", form.Get("Timestamp"))
	if err != nil || time.Since(ts).Abs() > 15*time.Minute {
		return "InvalidTimeStamp.Format", "Timestamp " + form.Get("Timestamp")
	}
	b.mu.Lock()
	used := b.nonces[form.Get("SignatureNonce")]
	b.nonces[form.Get("SignatureNonce")] = true
	b.mu.Unlock()
	if used {
		return "SignatureNonceUsed", "Specified signature nonce was used already."
	}
	if got, want := form.Get("Signature"), serverSignature("POST", testSecret, form); got != want {
		return "SignatureDoesNotMatch", "Specified signature is not matched with our calculation. got " + got + " want " + want
	}
	return "", ""
}

// queryDomainParams are QueryDomainByParam's documented request
// parameters besides the RPC common ones
// (https://www.alibabacloud.com/help/en/direct-mail/api-dm-2015-11-23-querydomainbyparam).
var queryDomainParams = map[string]bool{"KeyWord": true, "PageNo": true, "PageSize": true, "Status": true}

// commonParams are the RPC common parameters every action takes.
var commonParams = []string{"Action", "Format", "Version", "AccessKeyId", "Signature", "SignatureMethod",
	"SignatureVersion", "SignatureNonce", "Timestamp", "RegionId"}

// serveQueryDomain answers QueryDomainByParam as DirectMail does: it
// checks the common parameters and the signature, whose failures are
// answered with DirectMail's codes (a wrong key ID or secret is the
// caller's to find out), then lists the region's domains matching KeyWord.
func (b *dmBackend) serveQueryDomain(w http.ResponseWriter, r *http.Request, form url.Values, fail connectortest.Failure) {
	known := map[string]bool{}
	for _, k := range commonParams {
		known[k] = true
	}
	for k, v := range form {
		if !known[k] && !queryDomainParams[k] {
			b.t.Errorf("QueryDomainByParam: undocumented parameter %s", k)
		}
		if len(v) != 1 {
			b.t.Errorf("QueryDomainByParam: repeated parameter %s", k)
		}
	}
	for k, v := range map[string]string{"Format": "JSON", "Version": "2015-11-23", "SignatureMethod": "HMAC-SHA1", "SignatureVersion": "1.0", "RegionId": b.region} {
		if form.Get(k) != v {
			b.t.Errorf("QueryDomainByParam: %s = %q, want %q", k, form.Get(k), v)
		}
	}
	if ts, err := time.Parse("2006-01-02T15:04:05Z", form.Get("Timestamp")); err != nil || time.Since(ts).Abs() > 15*time.Minute {
		dmError(w, http.StatusBadRequest, "InvalidTimeStamp.Format", "Specified time stamp or date value is not well formatted.")
		return
	}
	b.mu.Lock()
	used := b.nonces[form.Get("SignatureNonce")] || form.Get("SignatureNonce") == ""
	b.nonces[form.Get("SignatureNonce")] = true
	domains, denied := b.domains, b.ramDenied
	b.mu.Unlock()
	switch {
	case used:
		dmError(w, http.StatusBadRequest, "SignatureNonceUsed", "Specified signature nonce was used already.")
		return
	case form.Get("AccessKeyId") != testKeyID:
		dmError(w, http.StatusNotFound, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")
		return
	case form.Get("Signature") != serverSignature(r.Method, testSecret, form):
		dmError(w, http.StatusBadRequest, "SignatureDoesNotMatch", "Specified signature is not matched with our calculation.")
		return
	case denied:
		dmError(w, http.StatusForbidden, "Forbidden.RAM", "User not authorized to operate on the specified resource, or this API doesn't support RAM.")
		return
	}
	switch fail {
	case connectortest.FailRateLimit:
		dmError(w, http.StatusBadRequest, "Throttling.User", "Request was denied due to user flow control.")
		return
	case connectortest.FailTemporary:
		dmError(w, http.StatusServiceUnavailable, "ServiceUnavailable", "The request has failed due to a temporary failure of the server.")
		return
	case connectortest.FailSlow:
		<-r.Context().Done()
		return
	}
	var list []map[string]string
	for _, d := range domains {
		if strings.Contains(d, form.Get("KeyWord")) {
			list = append(list, map[string]string{"DomainName": d, "DomainId": "158923", "DomainStatus": "0",
				"ConfirmStatus": "0", "CnameAuthStatus": "0", "IcpStatus": "1", "CreateTime": "2026-09-29T13:28Z", "UtcCreateTime": "1790688480"})
		}
	}
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	_ = json.NewEncoder(w).Encode(map[string]any{"RequestId": "8C90CCD3-627C-4F87-AD8C-2F03146071EB", "TotalCount": len(list),
		"PageNumber": 1, "PageSize": 50, "data": map[string]any{"domain": list}})
}

// serverSignature recomputes the RPC signature independently of the
// connector's code, with the standard library's query escaping and the
// replacements DirectMail's documentation gives for form encoders.
func serverSignature(method, secret string, form url.Values) string {
	enc := func(s string) string {
		return strings.NewReplacer("+", "%20", "*", "%2A", "%7E", "~").Replace(url.QueryEscape(s))
	}
	keys := make([]string, 0, len(form))
	for k := range form {
		if k != "Signature" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var q []string
	for _, k := range keys {
		q = append(q, enc(k)+"="+enc(form.Get(k)))
	}
	sts := method + "&" + enc("/") + "&" + enc(strings.Join(q, "&"))
	mac := hmac.New(sha1.New, []byte(secret+"&"))
	mac.Write([]byte(sts))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}
