package oidc

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
)

// errNotIssuer is a request the in-process client refuses: its URL is not
// the provider's.
var errNotIssuer = errors.New("the in-process client reaches only the OpenID Connect provider's own URLs")

// InProcessClient is an HTTP client that reaches the provider without the
// network: a request for a URL under the issuer is served by the same
// handler Mount registers (every check, cap and answer as over the
// network), in this process; a request for any other URL fails. A client
// of the provider built into the binary (the demo application) uses it,
// since the public URL may not be reachable from the server itself
// (behind a proxy, in a container).
func (p *Provider) InProcessClient() *http.Client {
	mux := http.NewServeMux()
	p.Mount(mux)
	issuer, _ := url.Parse(p.issuer) // New checked it
	return &http.Client{Transport: inProcess{issuer: issuer, handler: mux}, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
}

// inProcess serves the requests for the issuer's URLs with handler.
type inProcess struct {
	issuer  *url.URL
	handler http.Handler
}

// RoundTrip serves req in process: its path below the public URL's path
// is what the provider's routes see.
func (t inProcess) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		defer req.Body.Close()
	}
	u := req.URL
	base := strings.TrimSuffix(t.issuer.Path, Prefix)
	if u.Scheme != t.issuer.Scheme || u.Host != t.issuer.Host || !strings.HasPrefix(u.Path, t.issuer.Path+"/") {
		return nil, errNotIssuer
	}
	in := req.Clone(req.Context())
	in.URL = &url.URL{Path: strings.TrimPrefix(u.Path, base), RawQuery: u.RawQuery}
	in.RequestURI = in.URL.RequestURI()
	in.Host = u.Host
	in.RemoteAddr = "127.0.0.1:0"
	rec := httptest.NewRecorder()
	t.handler.ServeHTTP(rec, in)
	resp := rec.Result()
	resp.Request = req
	return resp, nil
}
