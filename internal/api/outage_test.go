package api_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authmail/authmail/internal/app/apptest"
	"github.com/authmail/authmail/internal/experience"
)

// outageCall is a request to one route that the route would serve on a
// healthy app; noDatabase marks the routes that need no database (their
// answer during an outage is their usual success).
type outageCall struct {
	path       string
	body       any
	noDatabase bool
	// interaction sends the fixtures' interaction cookie.
	interaction bool
	// form is sent as an HTML form instead of body; client authenticates
	// as the fixtures' application (HTTP Basic) instead of the admin key.
	form   url.Values
	client bool
	// token sends the fixtures' user access token.
	token bool
}

// outageFixtures are IDs of things that exist before the outage, and the
// cookie of an interaction begun before it.
type outageFixtures struct {
	connector, template, message, user, app, appSecret, resource, interaction string
	// org is an organization the user is a member of; orgRole a role.
	org, orgRole string
	// token is a signed-in user's access token.
	token string
	// invitation is a Pending invitation to org.
	invitation string
}

// outageCalls holds one call for every route of the route table, keyed
// "METHOD /pattern" as the OpenAPI document lists them. A route missing
// here fails TestDatabaseOutageAnswers503OnEveryRoute.
func outageCalls(fx outageFixtures) map[string]outageCall {
	authorize := url.Values{"client_id": {fx.app}, "redirect_uri": {"https://app.example.com/cb"}, "response_type": {"code"},
		"scope": {"openid"}, "state": {"outage"}}
	tpl := map[string]any{"templates": []any{map[string]any{"languageTag": "en", "templateType": "Generic",
		"details": map[string]any{"subject": "Code {{code}}", "content": "Your code is {{code}}"}}}}
	return map[string]outageCall{
		"GET /healthz":                                                             {path: "/healthz", noDatabase: true},
		"GET /readyz":                                                              {path: "/readyz"},
		"GET /api/openapi.json":                                                    {path: "/api/openapi.json", noDatabase: true},
		"GET /api/connector-factories":                                             {path: "/api/connector-factories", noDatabase: true},
		"GET /api/connector-factories/{id}":                                        {path: "/api/connector-factories/smtp", noDatabase: true},
		"GET /api/connectors":                                                      {path: "/api/connectors"},
		"POST /api/connectors":                                                     {path: "/api/connectors", body: map[string]any{"connectorId": "dev-inbox", "config": map[string]any{}}},
		"GET /api/connectors/{id}":                                                 {path: "/api/connectors/" + fx.connector},
		"PATCH /api/connectors/{id}":                                               {path: "/api/connectors/" + fx.connector, body: map[string]any{"config": map[string]any{}}},
		"DELETE /api/connectors/{id}":                                              {path: "/api/connectors/" + fx.connector + "?force=true"},
		"POST /api/connectors/{factoryId}/test":                                    {path: "/api/connectors/dev-inbox/test", body: map[string]any{"email": "tester@example.com", "config": map[string]any{}}},
		"POST /api/connectors/{factoryId}/check":                                   {path: "/api/connectors/dev-inbox/check", body: map[string]any{"config": map[string]any{}}},
		"PUT /api/email-templates":                                                 {path: "/api/email-templates", body: tpl},
		"GET /api/email-templates":                                                 {path: "/api/email-templates"},
		"DELETE /api/email-templates":                                              {path: "/api/email-templates?languageTag=en"},
		"POST /api/email-templates/preview":                                        {path: "/api/email-templates/preview", body: map[string]any{"templateType": "Generic"}},
		"GET /api/email-templates/{id}":                                            {path: "/api/email-templates/" + fx.template},
		"DELETE /api/email-templates/{id}":                                         {path: "/api/email-templates/" + fx.template},
		"PATCH /api/email-templates/{id}/details":                                  {path: "/api/email-templates/" + fx.template + "/details", body: map[string]any{"subject": "New code {{code}}"}},
		"GET /api/sign-in-exp":                                                     {path: "/api/sign-in-exp"},
		"PATCH /api/sign-in-exp":                                                   {path: "/api/sign-in-exp", body: map[string]any{"emailBranding": map[string]any{"senderName": "Acme"}}},
		"POST /api/verification-codes":                                             {path: "/api/verification-codes", body: map[string]any{"email": "outage@example.com"}},
		"POST /api/verification-codes/verify":                                      {path: "/api/verification-codes/verify", body: map[string]any{"email": "outage@example.com", "verificationCode": "123456"}},
		"GET /api/sentinel/lockouts":                                               {path: "/api/sentinel/lockouts"},
		"DELETE /api/sentinel/lockouts/{id}":                                       {path: "/api/sentinel/lockouts/0123456789abcdef"},
		"GET /api/users":                                                           {path: "/api/users?page=1&page_size=5&search=outage"},
		"POST /api/users":                                                          {path: "/api/users", body: map[string]any{"primaryEmail": "new-user@example.com"}},
		"GET /api/users/{userId}":                                                  {path: "/api/users/" + fx.user},
		"PATCH /api/users/{userId}":                                                {path: "/api/users/" + fx.user, body: map[string]any{"name": "Outage"}},
		"DELETE /api/users/{userId}":                                               {path: "/api/users/" + fx.user},
		"PATCH /api/users/{userId}/password":                                       {path: "/api/users/" + fx.user + "/password", body: map[string]any{"password": "correct horse battery"}},
		"PATCH /api/users/{userId}/is-suspended":                                   {path: "/api/users/" + fx.user + "/is-suspended", body: map[string]any{"isSuspended": true}},
		"GET /api/users/{userId}/roles":                                            {path: "/api/users/" + fx.user + "/roles"},
		"POST /api/users/{userId}/roles":                                           {path: "/api/users/" + fx.user + "/roles", body: map[string]any{"roleIds": []string{"admin"}}},
		"PUT /api/users/{userId}/roles":                                            {path: "/api/users/" + fx.user + "/roles", body: map[string]any{"roleIds": []string{"admin"}}},
		"DELETE /api/users/{userId}/roles/{roleId}":                                {path: "/api/users/" + fx.user + "/roles/admin"},
		"GET /api/applications":                                                    {path: "/api/applications?page=1&page_size=5"},
		"POST /api/applications":                                                   {path: "/api/applications", body: map[string]any{"name": "Outage", "type": "MachineToMachine"}},
		"GET /api/applications/{id}":                                               {path: "/api/applications/" + fx.app},
		"PATCH /api/applications/{id}":                                             {path: "/api/applications/" + fx.app, body: map[string]any{"name": "Outage"}},
		"DELETE /api/applications/{id}":                                            {path: "/api/applications/" + fx.app},
		"GET /api/applications/{applicationId}/roles":                              {path: "/api/applications/" + fx.app + "/roles"},
		"POST /api/applications/{applicationId}/roles":                             {path: "/api/applications/" + fx.app + "/roles", body: map[string]any{"roleIds": []string{"management-api-access"}}},
		"DELETE /api/applications/{applicationId}/roles/{roleId}":                  {path: "/api/applications/" + fx.app + "/roles/management-api-access"},
		"GET /api/roles":                                                           {path: "/api/roles?type=MachineToMachine"},
		"GET /api/resources":                                                       {path: "/api/resources"},
		"POST /api/resources":                                                      {path: "/api/resources", body: map[string]any{"name": "Outage", "indicator": "https://outage.example.com"}},
		"GET /api/resources/{id}":                                                  {path: "/api/resources/" + fx.resource},
		"GET /api/configs/oidc/private-keys":                                       {path: "/api/configs/oidc/private-keys"},
		"POST /api/configs/oidc/private-keys/rotate":                               {path: "/api/configs/oidc/private-keys/rotate", body: map[string]any{}},
		"GET /api/organizations":                                                   {path: "/api/organizations?q=before"},
		"POST /api/organizations":                                                  {path: "/api/organizations", body: map[string]any{"name": "Outage"}},
		"GET /api/organizations/{id}":                                              {path: "/api/organizations/" + fx.org},
		"PATCH /api/organizations/{id}":                                            {path: "/api/organizations/" + fx.org, body: map[string]any{"name": "Outage"}},
		"DELETE /api/organizations/{id}":                                           {path: "/api/organizations/" + fx.org},
		"GET /api/organizations/{id}/users":                                        {path: "/api/organizations/" + fx.org + "/users"},
		"POST /api/organizations/{id}/users":                                       {path: "/api/organizations/" + fx.org + "/users", body: map[string]any{"userIds": []string{fx.user}}},
		"PUT /api/organizations/{id}/users":                                        {path: "/api/organizations/" + fx.org + "/users", body: map[string]any{"userIds": []string{fx.user}}},
		"POST /api/organizations/{id}/users/roles":                                 {path: "/api/organizations/" + fx.org + "/users/roles", body: map[string]any{"userIds": []string{fx.user}, "organizationRoleIds": []string{fx.orgRole}}},
		"GET /api/users/{userId}/organizations":                                    {path: "/api/users/" + fx.user + "/organizations"},
		"DELETE /api/organizations/{id}/users/{userId}":                            {path: "/api/organizations/" + fx.org + "/users/" + fx.user},
		"GET /api/organizations/{id}/users/{userId}/roles":                         {path: "/api/organizations/" + fx.org + "/users/" + fx.user + "/roles"},
		"POST /api/organizations/{id}/users/{userId}/roles":                        {path: "/api/organizations/" + fx.org + "/users/" + fx.user + "/roles", body: map[string]any{"organizationRoleIds": []string{fx.orgRole}}},
		"PUT /api/organizations/{id}/users/{userId}/roles":                         {path: "/api/organizations/" + fx.org + "/users/" + fx.user + "/roles", body: map[string]any{"organizationRoleIds": []string{fx.orgRole}}},
		"DELETE /api/organizations/{id}/users/{userId}/roles/{organizationRoleId}": {path: "/api/organizations/" + fx.org + "/users/" + fx.user + "/roles/" + fx.orgRole},
		"GET /api/organization-invitations":                                        {path: "/api/organization-invitations?organizationId=" + fx.org},
		"POST /api/organization-invitations":                                       {path: "/api/organization-invitations", body: map[string]any{"invitee": "outage@example.com", "organizationId": fx.org, "expiresAt": time.Now().Add(time.Hour).UnixMilli()}},
		"GET /api/organization-invitations/{id}":                                   {path: "/api/organization-invitations/" + fx.invitation},
		"DELETE /api/organization-invitations/{id}":                                {path: "/api/organization-invitations/" + fx.invitation},
		"POST /api/organization-invitations/{id}/message":                          {path: "/api/organization-invitations/" + fx.invitation + "/message", body: map[string]any{"link": "https://app.example.com/join"}},
		"PUT /api/organization-invitations/{id}/status":                            {path: "/api/organization-invitations/" + fx.invitation + "/status", body: map[string]any{"status": "Revoked"}},
		"GET /api/organization-roles":                                              {path: "/api/organization-roles"},
		"POST /api/organization-roles":                                             {path: "/api/organization-roles", body: map[string]any{"name": "outage"}},
		"GET /api/organization-roles/{id}":                                         {path: "/api/organization-roles/" + fx.orgRole},
		"PATCH /api/organization-roles/{id}":                                       {path: "/api/organization-roles/" + fx.orgRole, body: map[string]any{"name": "outage"}},
		"DELETE /api/organization-roles/{id}":                                      {path: "/api/organization-roles/" + fx.orgRole},
		"GET /api/messages":                                                        {path: "/api/messages"},
		"GET /api/messages/{id}":                                                   {path: "/api/messages/" + fx.message},
		"GET /api/dev-inbox/messages":                                              {path: "/api/dev-inbox/messages"},
		"GET /api/deliverability/check":                                            {path: "/api/deliverability/check?domain=auth.example.com"},
		"PUT /api/experience":                                                      {path: "/api/experience", body: map[string]string{"interactionEvent": "SignIn"}, interaction: true},
		"PUT /api/experience/interaction-event":                                    {path: "/api/experience/interaction-event", body: map[string]string{"interactionEvent": "Register"}, interaction: true},
		"GET /api/experience/interaction":                                          {path: "/api/experience/interaction", interaction: true},
		"POST /api/experience/verification/verification-code": {path: "/api/experience/verification/verification-code",
			body: map[string]any{"identifier": map[string]string{"type": "email", "value": "outage@example.com"}, "interactionEvent": "SignIn"}, interaction: true},
		"POST /api/experience/verification/verification-code/verify": {path: "/api/experience/verification/verification-code/verify",
			body: map[string]any{"identifier": map[string]string{"type": "email", "value": "outage@example.com"}, "verificationId": "v", "code": "123456"}, interaction: true},
		"POST /api/experience/verification/password": {path: "/api/experience/verification/password",
			body: map[string]any{"identifier": map[string]string{"type": "email", "value": "before@example.com"}, "password": "correct horse battery"}, interaction: true},
		"POST /api/experience/identification":  {path: "/api/experience/identification", body: map[string]string{"verificationId": "v"}, interaction: true},
		"POST /api/experience/profile":         {path: "/api/experience/profile", body: map[string]string{"type": "username", "value": "outage"}, interaction: true},
		"PUT /api/experience/profile/password": {path: "/api/experience/profile/password", body: map[string]string{"password": "correct horse battery"}, interaction: true},
		"POST /api/experience/submit":          {path: "/api/experience/submit", interaction: true},

		"GET /oidc/.well-known/openid-configuration": {path: "/oidc/.well-known/openid-configuration", noDatabase: true},
		"GET /oidc/jwks":                 {path: "/oidc/jwks"},
		"GET /oidc/auth":                 {path: "/oidc/auth?" + authorize.Encode()},
		"POST /oidc/auth":                {path: "/oidc/auth", form: authorize},
		"GET /oidc/interaction":          {path: "/oidc/interaction?authRequest=ar-outage"},
		"GET /oidc/auth/callback":        {path: "/oidc/auth/callback?id=ar-outage"},
		"POST /oidc/token":               {path: "/oidc/token", form: url.Values{"grant_type": {"client_credentials"}, "resource": {"https://default.logto.app/api"}, "scope": {"all"}}, client: true},
		"GET /oidc/me":                   {path: "/oidc/me", client: true},
		"POST /oidc/me":                  {path: "/oidc/me", client: true},
		"POST /oidc/token/introspection": {path: "/oidc/token/introspection", form: url.Values{"token": {"before-the-outage"}}, client: true},
		"POST /oidc/token/revocation":    {path: "/oidc/token/revocation", form: url.Values{"token": {"before-the-outage"}}, client: true},
		"GET /oidc/session/end":          {path: "/oidc/session/end?client_id=" + fx.app},
		"POST /oidc/session/end":         {path: "/oidc/session/end", form: url.Values{"client_id": {fx.app}}},
		"GET /oidc/session/end/success":  {path: "/oidc/session/end/success", noDatabase: true},
		"GET /oidc/healthz":              {path: "/oidc/healthz", noDatabase: true},
		"GET /oidc/ready":                {path: "/oidc/ready"},
		"GET /api/my-account":            {path: "/api/my-account", token: true},
		"PATCH /api/my-account":          {path: "/api/my-account", body: map[string]string{"name": "Outage"}, token: true},
		"DELETE /api/my-account":         {path: "/api/my-account", token: true},
		"POST /api/my-account/password":  {path: "/api/my-account/password", body: map[string]string{"password": "a new horse battery"}, token: true},
		"POST /api/my-account/primary-email": {path: "/api/my-account/primary-email",
			body: map[string]string{"email": "outage.new@example.com", "newIdentifierVerificationRecordId": "v"}, token: true},
		"DELETE /api/my-account/primary-email":                      {path: "/api/my-account/primary-email", token: true},
		"GET /api/my-account/mfa-verifications":                     {path: "/api/my-account/mfa-verifications", token: true},
		"DELETE /api/my-account/mfa-verifications/{verificationId}": {path: "/api/my-account/mfa-verifications/f", token: true},
		"POST /api/verifications/password":                          {path: "/api/verifications/password", body: map[string]string{"password": "correct horse battery"}, token: true},
		"POST /api/verifications/verification-code": {path: "/api/verifications/verification-code",
			body: map[string]any{"identifier": map[string]string{"type": "email", "value": "outage@example.com"}}, token: true},
		"POST /api/verifications/verification-code/verify": {path: "/api/verifications/verification-code/verify",
			body: map[string]any{"identifier": map[string]string{"type": "email", "value": "outage@example.com"}, "verificationId": "v", "code": "123456"}, token: true},
		"GET /api/account-center":   {path: "/api/account-center"},
		"PATCH /api/account-center": {path: "/api/account-center", body: map[string]any{"enabled": true}},
		"POST /api/experience/direct": {path: "/api/experience/direct", body: map[string]string{"clientId": "outage-app", "clientSecret": "outage-secret",
			"scope": "openid"}},
		"POST /api/experience/verification/mfa-verification-code": {path: "/api/experience/verification/mfa-verification-code",
			body: map[string]string{"identifierType": "email"}, interaction: true},
		"POST /api/experience/verification/mfa-verification-code/verify": {path: "/api/experience/verification/mfa-verification-code/verify",
			body: map[string]string{"verificationId": "v", "code": "123456"}, interaction: true},
		"POST /api/experience/profile/mfa": {path: "/api/experience/profile/mfa", body: map[string]string{"type": "EmailVerificationCode", "verificationId": "v"}, interaction: true},
	}
}

// TestDatabaseOutageAnswers503OnEveryRoute kills the database under a
// running app (SQLite: the store is closed, after the queue's workers
// stopped; PostgreSQL: every connection to the server is cut and new ones
// are refused, under the running workers) and calls every route of
// the OpenAPI document. While the admin key is still cached, each route
// that needs the database answers 503 request.unavailable with
// Retry-After and the others answer as usual; once the cached key is
// stale, every admin route answers 503 too (the key check needs the
// database), never 401: an outage does not look like a wrong key.
func TestDatabaseOutageAnswers503OnEveryRoute(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, dbURL string) {
		clock := &frozenClock{now: time.Now().UTC()}
		var kill func()
		if strings.HasPrefix(dbURL, "postgres") {
			dbURL, kill = proxiedDatabase(t, dbURL)
		}
		a := apptest.New(t, dbURL, apptest.WithNow(clock.Now))
		if kill == nil {
			kill = func() {
				// The queue stops first: a closed SQLite database cannot come
				// back, and a queue stopping against it retries for seconds.
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				if err := a.App.Delivery.Stop(ctx); err != nil {
					t.Fatal(err)
				}
				if err := a.App.Store.Close(); err != nil {
					t.Fatal(err)
				}
			}
		}
		fx := outageFixtures{connector: connectors(t, a)[0].ID}
		var saved []emailTemplate
		a.JSON("PUT", "/api/email-templates", outageCalls(fx)["PUT /api/email-templates"].body, http.StatusOK, &saved)
		fx.template = saved[0].ID
		sendCode(t, a, "before@example.com")
		fx.message = messages(t, a, "before@example.com")[0].ID
		var u struct{ ID string }
		a.JSON("POST", "/api/users", map[string]any{"primaryEmail": "before@example.com"}, http.StatusOK, &u)
		fx.user = u.ID
		var app struct{ ID, Secret string }
		var res struct{ ID string }
		a.JSON("POST", "/api/applications", map[string]any{"name": "Before", "type": "MachineToMachine"}, http.StatusOK, &app)
		a.JSON("POST", "/api/applications/"+app.ID+"/roles", map[string]any{"roleIds": []string{"management-api-access"}}, http.StatusCreated, nil)
		a.JSON("POST", "/api/resources", map[string]any{"name": "Before", "indicator": "https://before.example.com"}, http.StatusCreated, &res)
		fx.app, fx.appSecret, fx.resource = app.ID, app.Secret, res.ID
		var org, orgRole struct{ ID string }
		a.JSON("POST", "/api/organizations", map[string]any{"name": "Before"}, http.StatusCreated, &org)
		a.JSON("POST", "/api/organization-roles", map[string]any{"name": "before"}, http.StatusCreated, &orgRole)
		a.JSON("POST", "/api/organizations/"+org.ID+"/users", map[string]any{"userIds": []string{fx.user}}, http.StatusCreated, nil)
		a.JSON("POST", "/api/organizations/"+org.ID+"/users/"+fx.user+"/roles", map[string]any{"organizationRoleIds": []string{orgRole.ID}}, http.StatusCreated, nil)
		fx.org, fx.orgRole = org.ID, orgRole.ID
		var inv struct{ ID string }
		a.JSON("POST", "/api/organization-invitations", map[string]any{"invitee": "invited@example.com", "organizationId": org.ID,
			"expiresAt": clock.Now().Add(time.Hour).UnixMilli()}, http.StatusCreated, &inv)
		fx.invitation = inv.ID
		started, err := a.App.Experience.Start(context.Background(), "default", experience.AuthRequest{ID: "ar-outage", ClientID: "app"}, "")
		if err != nil {
			t.Fatal(err)
		}
		fx.interaction = started.InteractionCookie
		if resp, b := a.Request("PUT", "/api/experience", http.Header{"Cookie": {experience.InteractionCookie + "=" + fx.interaction}},
			map[string]string{"interactionEvent": "SignIn"}); resp.StatusCode != http.StatusNoContent {
			t.Fatalf("beginning the interaction: %d %s", resp.StatusCode, b)
		}
		emailSignIn(t, a)
		accountCenter(t, a, allEdit)
		fx.token = signedInUser(t, a, "outage.user@example.com", "correct horse battery").token
		calls := outageCalls(fx)

		doc := fetchOpenAPI(t, a)
		var routes []string
		for op := range documented(doc) {
			routes = append(routes, op)
		}
		sort.Strings(routes)
		for _, op := range routes {
			if _, ok := calls[op]; !ok {
				t.Errorf("%s has no request in outageCalls: add one that the route serves on a healthy app", op)
			}
		}
		public := func(op string) bool {
			method, path, _ := strings.Cut(op, " ")
			sec, ok := doc.Paths[path][strings.ToLower(method)]["security"].([]any)
			return ok && len(sec) == 0
		}
		success := func(op string) int {
			method, path, _ := strings.Cut(op, " ")
			for code := range doc.Paths[path][strings.ToLower(method)]["responses"].(map[string]any) {
				if len(code) == 3 && code[0] == '2' {
					n := 0
					for _, c := range code {
						n = n*10 + int(c-'0')
					}
					return n
				}
			}
			t.Fatalf("%s documents no success status", op)
			return 0
		}

		// Only the admin key is fresh in the cache when the database goes.
		clock.Advance(2 * time.Second)
		a.JSON("GET", "/api/connector-factories", nil, http.StatusOK, nil)
		kill()

		check := func(phase string, keyCached bool) {
			for _, op := range routes {
				call, ok := calls[op]
				if !ok {
					continue
				}
				method, _, _ := strings.Cut(op, " ")
				h := http.Header{"Authorization": {"Bearer " + a.AdminKey}}
				switch {
				case call.interaction:
					h = http.Header{"Cookie": {experience.InteractionCookie + "=" + fx.interaction}}
				case call.client:
					h = http.Header{"Authorization": {"Basic " + base64.StdEncoding.EncodeToString([]byte(fx.app+":"+fx.appSecret))}}
				case strings.HasPrefix(op, "GET /oidc/") || strings.HasPrefix(op, "POST /oidc/"):
					h = http.Header{}
				}
				if call.token {
					h = http.Header{"Authorization": {"Bearer " + fx.token}}
				}
				body := call.body
				if call.form != nil {
					h.Set("Content-Type", "application/x-www-form-urlencoded")
					body = call.form.Encode()
				}
				resp, b := a.Request(method, call.path, h, body)
				if call.noDatabase && (keyCached || public(op)) {
					if resp.StatusCode != success(op) {
						t.Errorf("%s: %s needs no database but answered %d %.300s", phase, op, resp.StatusCode, b)
					}
					continue
				}
				if strings.Contains(op, " /oidc/") {
					// The provider's: an OAuth error for an app, a page for a person.
					var e struct {
						Error string `json:"error"`
					}
					page := strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html")
					if resp.StatusCode != http.StatusServiceUnavailable || (!page && (json.Unmarshal(b, &e) != nil || e.Error != "temporarily_unavailable")) {
						t.Errorf("%s: %s answered %d %.300s, want 503 temporarily_unavailable or a page", phase, op, resp.StatusCode, b)
					}
				} else if e := (apptest.Error{}); json.Unmarshal(b, &e) != nil || resp.StatusCode != http.StatusServiceUnavailable || e.Code != "request.unavailable" || e.Message == "" {
					t.Errorf("%s: %s answered %d %.300s, want 503 request.unavailable", phase, op, resp.StatusCode, b)
				}
				if resp.StatusCode == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") == "" {
					t.Errorf("%s: %s answered 503 without Retry-After", phase, op)
				}
			}
		}
		check("admin key cached", true)
		clock.Advance(2 * time.Second)
		check("admin key stale", false)
		if strings.Contains(a.Logs(), "internal error") {
			t.Errorf("the outage was logged as an internal error:\n%s", grepLines([]byte(a.Logs()), "level=ERROR"))
		}
	})
}

// frozenClock stands still unless advanced, so that the settings cache
// expires exactly when the test says.
type frozenClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *frozenClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *frozenClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// proxiedDatabase puts a TCP proxy between the app and the PostgreSQL
// server of dbURL and returns the URL through it and a kill that cuts
// every connection and refuses new ones, as a database that went down
// would. The proxy comes back up at cleanup, before the app stops.
func proxiedDatabase(t *testing.T, dbURL string) (string, func()) {
	t.Helper()
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	target := u.Host
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	down := false
	conns := map[net.Conn]bool{}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			if down {
				mu.Unlock()
				c.Close()
				continue
			}
			up, err := net.Dial("tcp", target)
			if err != nil {
				mu.Unlock()
				c.Close()
				continue
			}
			conns[c], conns[up] = true, true
			mu.Unlock()
			pipe := func(dst, src net.Conn) {
				_, _ = io.Copy(dst, src)
				dst.Close()
				src.Close()
			}
			go pipe(up, c)
			go pipe(c, up)
		}
	}()
	t.Cleanup(func() { ln.Close() })
	u.Host = ln.Addr().String()
	kill := func() {
		mu.Lock()
		defer mu.Unlock()
		down = true
		for c := range conns {
			if err := c.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
				t.Logf("closing a proxied connection: %v", err)
			}
		}
		conns = map[net.Conn]bool{}
		// Runs before the app's own cleanup (registered earlier), so that
		// the app stops against a database that answers again.
		t.Cleanup(func() {
			mu.Lock()
			down = false
			mu.Unlock()
		})
	}
	return u.String(), kill
}
