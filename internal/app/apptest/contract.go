package apptest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// Contract holds requests and responses to the app's OpenAPI document
// (github.com/getkin/kin-openapi): every exchange of the test client with
// a route the document lists is checked against it.
type Contract struct {
	router routers.Router
}

// NewContract loads and validates an OpenAPI document.
func NewContract(doc []byte) (*Contract, error) {
	loader := openapi3.NewLoader()
	spec, err := loader.LoadFromData(doc)
	if err != nil {
		return nil, fmt.Errorf("loading the OpenAPI document: %w", err)
	}
	if err := spec.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("the OpenAPI document is not valid: %w", err)
	}
	router, err := gorillamux.NewRouter(spec)
	if err != nil {
		return nil, fmt.Errorf("routing the OpenAPI document: %w", err)
	}
	return &Contract{router: router}, nil
}

// Check validates one exchange: req (whose body was body) and the
// response resp with its body respBody. It returns what breaks the
// contract: a response that does not match the document for its status,
// or a request that the document refuses but the server accepted (a
// status below 400). A request to a path and method the document does
// not list is not checked.
func (c *Contract) Check(req *http.Request, body []byte, resp *http.Response, respBody []byte) error {
	vreq := req.Clone(context.Background())
	vreq.Body = io.NopCloser(bytes.NewReader(body))
	route, pathParams, err := c.router.FindRoute(vreq)
	if err != nil {
		return nil // not an API route: /metrics, a wrong method, an unknown path
	}
	in := &openapi3filter.RequestValidationInput{Request: vreq, PathParams: pathParams, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: credentialsPresent, RejectWhenRequestBodyNotSpecified: true, SkipSettingDefaults: true}}
	reqErr := openapi3filter.ValidateRequest(context.Background(), in)
	// A page's body is for a person: its status and presence are held to
	// the document, its HTML is not.
	page := strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html")
	in.Options = &openapi3filter.Options{IncludeResponseStatus: true, ExcludeResponseBody: page}
	respErr := openapi3filter.ValidateResponse(context.Background(), &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in, Status: resp.StatusCode, Header: resp.Header,
		Body: io.NopCloser(bytes.NewReader(respBody)), Options: in.Options,
	})
	var errs []error
	if respErr != nil {
		errs = append(errs, fmt.Errorf("the %d response does not match the OpenAPI document: %w", resp.StatusCode, respErr))
	}
	if reqErr != nil && resp.StatusCode < 400 {
		errs = append(errs, fmt.Errorf("the OpenAPI document refuses the request, but the server answered %d: %w", resp.StatusCode, reqErr))
	}
	if resp.StatusCode == http.StatusNoContent && len(respBody) > 0 {
		errs = append(errs, fmt.Errorf("204 with a body: %.200s", respBody))
	}
	return errors.Join(errs...)
}

// credentialsPresent satisfies the document's bearer scheme when the
// request carries a Bearer token, and its cookie scheme when it carries
// the cookie; whether they are right is the server's to say.
func credentialsPresent(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	req := in.RequestValidationInput.Request
	if in.SecurityScheme != nil && in.SecurityScheme.Type == "apiKey" && in.SecurityScheme.In == "cookie" {
		if c, err := req.Cookie(in.SecurityScheme.Name); err != nil || c.Value == "" {
			return in.NewError(errors.New("no " + in.SecurityScheme.Name + " cookie"))
		}
		return nil
	}
	key, ok := strings.CutPrefix(req.Header.Get("Authorization"), "Bearer ")
	if in.SecurityScheme == nil || in.SecurityScheme.Scheme != "bearer" || !ok || strings.TrimSpace(key) == "" {
		return in.NewError(errors.New("no Bearer token"))
	}
	return nil
}

// contract returns the app's contract, loading its document on first use.
func (a *App) contract() (*Contract, error) {
	a.contractOnce.Do(func() {
		var doc []byte
		doc, a.contractErr = json.Marshal(a.App.API.OpenAPI())
		if a.contractErr == nil {
			a.contractC, a.contractErr = NewContract(doc)
		}
	})
	return a.contractC, a.contractErr
}
