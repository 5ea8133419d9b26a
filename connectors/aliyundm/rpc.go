package aliyundm

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/authmail/authmail/connector"
)

// The RPC signature of Alibaba Cloud's POP APIs (signature version 1.0),
// as DirectMail documents it:
//
//  1. percent-encode every parameter name and value (UTF-8; only A-Z a-z
//     0-9 - _ . ~ stay as they are; space is %20), excluding Signature;
//  2. sort by name and join as name=value pairs with & (the canonicalized
//     query string);
//  3. StringToSign = Method + "&" + percentEncode("/") + "&" +
//     percentEncode(canonicalized query string);
//  4. Signature = Base64(HMAC-SHA1(AccessKeySecret + "&", StringToSign)).

// percentEncode encodes s the way the RPC signature requires (RFC 3986).
func percentEncode(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

// canonicalQuery encodes params (Signature excluded) sorted by name.
func canonicalQuery(params map[string]string) string {
	names := make([]string, 0, len(params))
	for k := range params {
		if k != "Signature" {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	pairs := make([]string, len(names))
	for i, k := range names {
		pairs[i] = percentEncode(k) + "=" + percentEncode(params[k])
	}
	return strings.Join(pairs, "&")
}

// stringToSign is the string the signature covers.
func stringToSign(method string, params map[string]string) string {
	return method + "&" + percentEncode("/") + "&" + percentEncode(canonicalQuery(params))
}

// sign returns the request's Signature parameter.
func sign(method, secret string, params map[string]string) string {
	mac := hmac.New(sha1.New, []byte(secret+"&"))
	mac.Write([]byte(stringToSign(method, params)))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// signedBody is the form body of a signed POST.
func signedBody(secret string, params map[string]string) string {
	return canonicalQuery(params) + "&Signature=" + percentEncode(sign(http.MethodPost, secret, params))
}

// apiError is the error body of Alibaba Cloud's RPC APIs.
type apiError struct {
	Code      string `json:"Code"`
	Message   string `json:"Message"`
	RequestID string `json:"RequestId"`
	HostID    string `json:"HostId"`
	Recommend string `json:"Recommend"`
}

// authCodes, rateCodes and temporaryCodes classify DirectMail error codes
// by prefix; any other code is classified by its HTTP status (4xx rejected).
var (
	authCodes      = []string{"InvalidAccessKeyId", "SignatureDoesNotMatch", "IncompleteSignature", "Forbidden", "InvalidSecurityToken", "MissingSecurityToken", "NoPermission", "InvalidAccessKeySecret"}
	rateCodes      = []string{"Throttling"}
	temporaryCodes = []string{"InternalError", "ServiceUnavailable", "ServiceTimeout", "SignatureNonceUsed"}
	rejectedCodes  = []string{"Invalid", "Missing", "Quota", "OperationDenied"}
)

func hasPrefix(code string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(code, p) {
			return true
		}
	}
	return false
}

// responseError classifies a non-2xx answer, keeping DirectMail's code,
// message and request ID, bounded and with secrets masked.
func responseError(resp *http.Response, body []byte, secrets ...string) error {
	var ae apiError
	_ = json.Unmarshal(body, &ae)
	msg := ae.Message
	if msg != "" && ae.RequestID != "" {
		msg = fmt.Sprintf("%s (RequestId %s)", msg, ae.RequestID)
	}
	if msg != "" && ae.Recommend != "" {
		msg += " see " + ae.Recommend
	}
	err := connector.HTTPStatusError(resp.StatusCode, resp.Header, body, ae.Code, msg, secrets...)
	e, ok := err.(*connector.Error)
	if !ok {
		return err
	}
	switch {
	case hasPrefix(ae.Code, authCodes):
		e.Kind = connector.ErrAuth
	case hasPrefix(ae.Code, rateCodes):
		e.Kind = connector.ErrRateLimited
	case hasPrefix(ae.Code, temporaryCodes):
		e.Kind = connector.ErrTemporary
	case resp.StatusCode < 500 && hasPrefix(ae.Code, rejectedCodes):
		e.Kind = connector.ErrRejected
	}
	return e
}
