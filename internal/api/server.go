// Package api is authmail's HTTP layer: the management API (Logto's
// connector, email-template and verification-code routes), the message
// log, the dev inbox, health, metrics and the OpenAPI document.
package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/authmail/authmail/internal/account"
	"github.com/authmail/authmail/internal/address"
	"github.com/authmail/authmail/internal/apps"
	"github.com/authmail/authmail/internal/connconfig"
	"github.com/authmail/authmail/internal/delivery"
	"github.com/authmail/authmail/internal/dnscheck"
	"github.com/authmail/authmail/internal/experience"
	"github.com/authmail/authmail/internal/identity"
	"github.com/authmail/authmail/internal/oidc"
	"github.com/authmail/authmail/internal/orgs"
	"github.com/authmail/authmail/internal/ratelimit"
	"github.com/authmail/authmail/internal/savedtemplates"
	"github.com/authmail/authmail/internal/sendcode"
	"github.com/authmail/authmail/internal/signingkeys"
	"github.com/authmail/authmail/internal/store"
	"github.com/authmail/authmail/internal/tenant"
	"github.com/authmail/authmail/internal/verification"
)

// Deps are the services the API uses.
type Deps struct {
	Store      *store.Store
	Connectors *delivery.Connectors
	// Tenants holds the tenants' settings and admin keys.
	Tenants *tenant.Settings
	// Codes is the send pipeline.
	Codes *sendcode.Service
	// Templates holds the tenants' saved email templates.
	Templates *savedtemplates.Service
	// Configs holds the tenants' saved connector configs.
	Configs  *connconfig.Service
	Registry *prometheus.Registry
	Logger   *slog.Logger
	Now      func() time.Time
	// DNSResolver is the nameserver ("HOST:PORT") deliverability checks
	// query; empty means the first one in /etc/resolv.conf.
	DNSResolver string
	// Verification holds the lockouts the sentinel routes list and lift.
	Verification *verification.Service
	// Users holds the tenants' users.
	Users *identity.Service
	// Apps holds the tenants' applications, API resources and roles.
	Apps *apps.Service
	// SigningKeys holds the tenants' token signing keys; a management API
	// access token must be signed by one of the published ones.
	SigningKeys *signingkeys.Service
	// Issuer is the OpenID Connect issuer ({public URL}/oidc) that a
	// management API access token must name; "" accepts no token, only
	// the admin key.
	Issuer string
	// OIDCOperations are the OpenID Connect provider's endpoints, served
	// beside the API and listed in its OpenAPI document.
	OIDCOperations []oidc.Operation
	// Experience runs the sign-in flows of the experience API.
	Experience *experience.Service
	// Orgs holds the tenants' organizations, organization roles and
	// invitations.
	Orgs *orgs.Service
	// Account runs the account API (/api/my-account, /api/verifications).
	Account *account.Service
	// Limiter and PublicLimit cap the requests one client makes to the
	// public routes marked capped (the experience API).
	Limiter     *ratelimit.Limiter
	PublicLimit ratelimit.Limit
}

// Server serves the API.
type Server struct {
	Deps
	logger *slog.Logger
	routes []route
}

// route is one API operation; the same table registers the handlers and
// generates the OpenAPI document, so the two cannot disagree.
type route struct {
	method, path string
	summary      string
	public       bool // no admin key needed
	cookie       bool // bound to the _interaction cookie (OpenAPI: cookieAuth)
	user         bool // authenticated by a user's access token (OpenAPI: userToken)
	client       bool // an application may authenticate with HTTP Basic (OpenAPI: clientAuth, or none)
	capped       bool // counted toward PublicLimit per client
	handler      func(w http.ResponseWriter, r *http.Request) error
	request      any     // the body's type, or nil
	mergePatch   bool    // the body is a JSON merge patch of request's type
	bodyOptional bool    // the body may be left out
	query        []param // query parameters
	reqHeaders   []param // request headers
	response     any     // the success body's type, or nil for no body
	headers      []param // headers of the success response
	status       int     // success status
	noBody       bool    // the success status (not 204) carries no body, as Logto's
	alsoStatus   []int   // other success statuses, with no body
}

// New builds the server.
func New(d Deps) *Server {
	s := &Server{Deps: d, logger: d.Logger.With("component", "api")}
	s.routes = s.routeTable()
	return s
}

func (s *Server) routeTable() []route {
	return []route{
		{method: "GET", path: "/healthz", summary: "Process is up", public: true, handler: s.healthz, response: statusJSON{}, status: 200},
		{method: "GET", path: "/readyz", summary: "Database is reachable", public: true, handler: s.readyz, response: statusJSON{}, status: 200},
		{method: "GET", path: "/api/openapi.json", summary: "This document", public: true, handler: s.openapi, response: map[string]any{}, status: 200},
		{method: "GET", path: "/api/connector-factories", summary: "List connector factories (the catalog)", handler: s.listFactories, response: []factoryJSON{}, status: 200},
		{method: "GET", path: "/api/connector-factories/{id}", summary: "Get one connector factory", handler: s.getFactory, response: factoryJSON{}, status: 200},
		{method: "GET", path: "/api/connectors", summary: "List installed connectors (secrets redacted)", handler: s.listConnectors, response: []connectorJSON{}, status: 200},
		{method: "POST", path: "/api/connectors", summary: "Create a connector; an email connector replaces the old one; with check=true the connector's check runs first and a permanent failure saves nothing", handler: s.createConnector, request: createConnectorBody{}, query: []param{checkParam()}, response: connectorJSON{}, status: 200},
		{method: "GET", path: "/api/connectors/{id}", summary: "Get one connector (secrets redacted)", handler: s.getConnector, response: connectorJSON{}, status: 200},
		{method: "PATCH", path: "/api/connectors/{id}", summary: "Replace a connector's config; check=true as for POST /api/connectors", handler: s.patchConnector, request: patchConnectorBody{}, query: []param{checkParam()}, response: connectorJSON{}, status: 200},
		{method: "DELETE", path: "/api/connectors/{id}", summary: "Delete a connector (refused while sign-in relies on email codes unless force=true)", handler: s.deleteConnector, query: []param{forceParam()}, status: 204},
		{method: "POST", path: "/api/connectors/{factoryId}/test", summary: "Send a Generic test email (code 000000) with an unsaved config", handler: s.testConnector, request: testConnectorBody{}, status: 204},
		{method: "POST", path: "/api/connectors/{factoryId}/check", summary: "Check an unsaved config's connection and credentials without sending mail", handler: s.checkConnector, request: checkConnectorBody{}, status: 204},
		{method: "PUT", path: "/api/email-templates", summary: "Create or replace templates by language and usage type", handler: s.putTemplates, request: putTemplatesBody{}, response: []templateJSON{}, status: 200},
		{method: "GET", path: "/api/email-templates", summary: "List templates, filtered by languageTag and templateType", handler: s.listTemplates, query: templateFilters(), response: []templateJSON{}, status: 200},
		{method: "DELETE", path: "/api/email-templates", summary: "Delete templates matching languageTag and/or templateType", handler: s.deleteTemplates, query: templateFilters(), response: rowCountJSON{}, status: 200},
		{method: "POST", path: "/api/email-templates/preview", summary: "Render a saved or unsaved template with sample or given values", handler: s.previewTemplate, request: previewBody{}, response: previewJSON{}, status: 200},
		{method: "GET", path: "/api/email-templates/{id}", summary: "Get one template", handler: s.getTemplate, response: templateJSON{}, status: 200},
		{method: "DELETE", path: "/api/email-templates/{id}", summary: "Delete one template", handler: s.deleteTemplate, status: 204},
		{method: "PATCH", path: "/api/email-templates/{id}/details", summary: "Merge fields into a template's details", handler: s.patchTemplateDetails, request: detailsPatch{}, response: templateJSON{}, status: 200},
		{method: "GET", path: "/api/sign-in-exp", summary: "The sign-in experience in force: sign-in mode, sign-up and sign-in methods, password reset, password policy, MFA, sentinel, code policy, language, branding", handler: s.getExperience, response: tenant.Experience{}, status: 200},
		{method: "PATCH", path: "/api/sign-in-exp", summary: "Change the sign-in experience (a JSON merge patch, checked against Logto's rules)", handler: s.patchExperience, request: tenant.Experience{}, mergePatch: true, response: tenant.Experience{}, status: 200},
		{method: "POST", path: "/api/verification-codes", summary: "Send a Generic code to an email address", handler: s.sendCode, request: sendCodeBody{}, status: 204},
		{method: "POST", path: "/api/verification-codes/verify", summary: "Check a code", handler: s.verifyCode, request: verifyCodeBody{}, status: 204},
		{method: "GET", path: "/api/sentinel/lockouts", summary: "Lockouts in force after repeated wrong codes (of one address with email), the latest to end first", handler: s.listLockouts, query: lockoutQuery(), response: []lockoutJSON{}, status: 200},
		{method: "DELETE", path: "/api/sentinel/lockouts/{id}", summary: "Lift a lockout and forget the failures it counted", handler: s.liftLockout, status: 204},
		{method: "GET", path: "/api/users", summary: "List users, newest first, a page at a time (page, page_size; Total-Number header), filtered by search", handler: s.listUsers, query: userQuery(), response: []userJSON{}, headers: []param{totalNumberHeader()}, status: 200},
		{method: "POST", path: "/api/users", summary: "Create a user (a primary email and a username another user has are refused; a password is hashed with argon2id)", handler: s.createUser, request: createUserBody{}, response: userJSON{}, status: 200},
		{method: "GET", path: "/api/users/{userId}", summary: "Get one user", handler: s.getUser, response: userJSON{}, status: 200},
		{method: "PATCH", path: "/api/users/{userId}", summary: "Change a user's profile fields: a field given as null or \"\" is cleared; customData and profile replace the old values", handler: s.patchUser, request: patchUserBody{}, response: userJSON{}, status: 200},
		{method: "DELETE", path: "/api/users/{userId}", summary: "Delete a user", handler: s.deleteUser, status: 204},
		{method: "PATCH", path: "/api/users/{userId}/password", summary: "Set a user's password (8 to 256 characters)", handler: s.setUserPassword, request: passwordBody{}, response: userJSON{}, status: 200},
		{method: "PATCH", path: "/api/users/{userId}/is-suspended", summary: "Suspend or reinstate a user", handler: s.setUserSuspended, request: suspendBody{}, response: userJSON{}, status: 200},
		{method: "GET", path: "/api/applications", summary: "List applications, newest first, filtered by types; paged (page, page_size; Total-Number header) when either is given", handler: s.listApplications, query: applicationQuery(), response: []applicationJSON{}, headers: []param{totalHeader("applications", false)}, status: 200},
		{method: "POST", path: "/api/applications", summary: "Create an application; a Traditional or MachineToMachine one gets a client secret, in this answer only", handler: s.createApplication, request: createApplicationBody{}, response: createdApplicationJSON{}, status: 200},
		{method: "GET", path: "/api/applications/{id}", summary: "Get one application (never its secret), with isAdmin: whether it may call the management API", handler: s.getApplication, response: applicationDetailJSON{}, status: 200},
		{method: "PATCH", path: "/api/applications/{id}", summary: "Change an application: a field left out is kept; customClientMetadata and customData replace the old values; isAdmin gives or takes the management API role", handler: s.patchApplication, request: patchApplicationBody{}, response: applicationJSON{}, status: 200},
		{method: "DELETE", path: "/api/applications/{id}", summary: "Delete an application; its tokens stop opening the management API at once", handler: s.deleteApplication, status: 204},
		{method: "GET", path: "/api/applications/{applicationId}/roles", summary: "The roles a machine-to-machine application holds, a page at a time (Total-Number header)", handler: s.listApplicationRoles, query: pageParams("Roles"), response: []roleJSON{}, headers: []param{totalHeader("roles", true)}, status: 200},
		{method: "POST", path: "/api/applications/{applicationId}/roles", summary: "Give a machine-to-machine application roles", handler: s.assignApplicationRoles, request: roleIDsBody{}, response: assignedRolesJSON{}, status: 201},
		{method: "DELETE", path: "/api/applications/{applicationId}/roles/{roleId}", summary: "Take a role from a machine-to-machine application", handler: s.removeApplicationRole, status: 204},
		{method: "GET", path: "/api/users/{userId}/roles", summary: "The roles a user holds, a page at a time (Total-Number header)", handler: s.listUserRoles, query: pageParams("Roles"), response: []roleJSON{}, headers: []param{totalHeader("roles", true)}, status: 200},
		{method: "POST", path: "/api/users/{userId}/roles", summary: "Give a user User roles (admin: may sign in to the console); roles it holds are left as they are", handler: s.assignUserRoles, request: roleIDsBody{}, status: 201, noBody: true},
		{method: "PUT", path: "/api/users/{userId}/roles", summary: "Make a user's roles exactly these", handler: s.replaceUserRoles, request: roleIDsBody{}, status: 200, noBody: true},
		{method: "DELETE", path: "/api/users/{userId}/roles/{roleId}", summary: "Take a role from a user", handler: s.removeUserRole, status: 204},
		{method: "GET", path: "/api/roles", summary: "List roles (filtered by type), with the applications that hold them, a page at a time (Total-Number header)", handler: s.listRoles, query: roleQuery(), response: []roleSummaryJSON{}, headers: []param{totalHeader("roles", true)}, status: 200},
		{method: "GET", path: "/api/resources", summary: "List API resources, the management API first; paged (page, page_size; Total-Number header) when either is given", handler: s.listResources, query: resourceQuery(), response: []resourceJSON{}, headers: []param{totalHeader("resources", false)}, status: 200},
		{method: "POST", path: "/api/resources", summary: "Create an API resource (its indicator unique in the tenant)", handler: s.createResource, request: createResourceBody{}, response: resourceJSON{}, status: 201},
		{method: "GET", path: "/api/resources/{id}", summary: "Get one API resource", handler: s.getResource, response: resourceJSON{}, status: 200},
		{method: "GET", path: "/api/configs/oidc/private-keys", summary: "The token signing keys in force (never the keys themselves): the current one and those rotated out whose tokens may not have expired", handler: s.listPrivateKeys, response: []privateKeyJSON{}, status: 200},
		{method: "POST", path: "/api/configs/oidc/private-keys/rotate", summary: "Sign with a new key from now on; the old one stays published until the tokens it signed expire", handler: s.rotatePrivateKeys, request: rotateKeysBody{}, bodyOptional: true, response: []privateKeyJSON{}, status: 200},
		{method: "GET", path: "/api/organizations", summary: "List organizations, newest first, a page at a time (page, page_size; Total-Number header), filtered by q (ID or name)", handler: s.listOrganizations, query: searchQuery("Organizations", "ID or name"), response: []organizationJSON{}, headers: []param{totalHeader("organizations", true)}, status: 200},
		{method: "POST", path: "/api/organizations", summary: "Create an organization; customData.invitationReturnUrl is where the hosted accept page sends a new member", handler: s.createOrganization, request: organizationBody{}, response: organizationJSON{}, status: 201},
		{method: "GET", path: "/api/organizations/{id}", summary: "Get one organization", handler: s.getOrganization, response: organizationJSON{}, status: 200},
		{method: "PATCH", path: "/api/organizations/{id}", summary: "Change an organization: a field left out is kept; null clears description and customCss; customData, color and branding replace the old values", handler: s.patchOrganization, request: organizationBody{}, response: organizationJSON{}, status: 200},
		{method: "DELETE", path: "/api/organizations/{id}", summary: "Delete an organization with its memberships and invitations", handler: s.deleteOrganization, status: 204},
		{method: "GET", path: "/api/organizations/{id}/users", summary: "An organization's members with the roles each holds there, a page at a time (Total-Number header), filtered by q (email, username or name)", handler: s.listMembers, query: append(searchQuery("Members", "primary email, username or name"), stringParam("organizationRoleId", "Only the members who hold this organization role")), response: []memberJSON{}, headers: []param{totalHeader("members", true)}, status: 200},
		{method: "POST", path: "/api/organizations/{id}/users", summary: "Add users to an organization (a member already stays one)", handler: s.addMembers, request: userIDsBody{}, response: userIDsBody{}, status: 201},
		{method: "PUT", path: "/api/organizations/{id}/users", summary: "Replace an organization's members (the others stop being members, with the roles they held)", handler: s.replaceMembers, request: userIDsBody{}, status: 204},
		{method: "POST", path: "/api/organizations/{id}/users/roles", summary: "Give each of these members each of these organization roles", handler: s.assignMembersRoles, request: membersRolesBody{}, status: 201, noBody: true},
		{method: "DELETE", path: "/api/organizations/{id}/users/{userId}", summary: "Remove a member and the roles they held there", handler: s.removeMember, status: 204},
		{method: "GET", path: "/api/organizations/{id}/users/{userId}/roles", summary: "The organization roles a member holds", handler: s.listMemberRoles, response: []organizationRoleJSON{}, status: 200},
		{method: "POST", path: "/api/organizations/{id}/users/{userId}/roles", summary: "Give a member organization roles, by ID or by name", handler: s.assignMemberRoles, request: memberRolesBody{}, response: assignedMemberRolesJSON{}, status: 201},
		{method: "PUT", path: "/api/organizations/{id}/users/{userId}/roles", summary: "Replace the organization roles a member holds", handler: s.replaceMemberRoles, request: memberRolesBody{}, status: 204},
		{method: "DELETE", path: "/api/organizations/{id}/users/{userId}/roles/{organizationRoleId}", summary: "Take an organization role from a member", handler: s.removeMemberRole, status: 204},
		{method: "GET", path: "/api/users/{userId}/organizations", summary: "The organizations a user is a member of, with the organization roles the user holds in each", handler: s.listUserOrganizations, response: []userOrganizationJSON{}, status: 200},
		{method: "GET", path: "/api/organization-roles", summary: "List organization roles by name, a page at a time (Total-Number header), filtered by q (ID or name)", handler: s.listOrganizationRoles, query: searchQuery("Roles", "ID or name"), response: []organizationRoleWithScopesJSON{}, headers: []param{totalHeader("organization roles", true)}, status: 200},
		{method: "POST", path: "/api/organization-roles", summary: "Create an organization role (its name unique in the tenant)", handler: s.createOrganizationRole, request: organizationRoleBody{}, response: organizationRoleJSON{}, status: 201},
		{method: "GET", path: "/api/organization-roles/{id}", summary: "Get one organization role", handler: s.getOrganizationRole, response: organizationRoleJSON{}, status: 200},
		{method: "PATCH", path: "/api/organization-roles/{id}", summary: "Rename an organization role or change its description (null clears it)", handler: s.patchOrganizationRole, request: organizationRoleBody{}, response: organizationRoleJSON{}, status: 200},
		{method: "DELETE", path: "/api/organization-roles/{id}", summary: "Delete an organization role, from every member and invitation that has it", handler: s.deleteOrganizationRole, status: 204},
		{method: "GET", path: "/api/organization-invitations", summary: "List invitations, oldest first, filtered by organizationId, inviterId and invitee; each with its email's delivery (message)", handler: s.listInvitations, query: invitationQuery(), response: []invitationJSON{}, status: 200},
		{method: "POST", path: "/api/organization-invitations", summary: "Invite an address to an organization; with messagePayload, mail it an OrganizationInvitation email (without a link, one to the hosted accept page). An email the connector refuses leaves the invitation Pending with the failure in message", handler: s.createInvitation, request: createInvitationBody{}, response: invitationJSON{}, status: 201},
		{method: "GET", path: "/api/organization-invitations/{id}", summary: "Get one invitation with its email's delivery", handler: s.getInvitation, response: invitationJSON{}, status: 200},
		{method: "DELETE", path: "/api/organization-invitations/{id}", summary: "Delete an invitation", handler: s.deleteInvitation, status: 204},
		{method: "POST", path: "/api/organization-invitations/{id}/message", summary: "Mail a Pending invitation again with these values (without a link, a new accept link; the old one stops working)", handler: s.sendInvitation, request: map[string]any{}, bodyOptional: true, status: 204},
		{method: "PUT", path: "/api/organization-invitations/{id}/status", summary: "Accept (acceptedUserId: the user whose primary email is the invitee becomes a member with the invitation's roles) or revoke a Pending invitation", handler: s.setInvitationStatus, request: invitationStatusBody{}, response: invitationJSON{}, status: 200},
		{method: "GET", path: "/api/messages", summary: "Message log, newest first, filtered by to and status", handler: s.listMessages, query: messageQuery(), response: []messageJSON{}, status: 200},
		{method: "GET", path: "/api/messages/{id}", summary: "One message with every attempt", handler: s.getMessage, response: messageJSON{}, status: 200},
		{method: "GET", path: "/api/dev-inbox/messages", summary: "Messages kept by the dev inbox connector, newest first", handler: s.devInbox, query: []param{toParam()}, response: []inboxJSON{}, status: 200},
		{method: "PUT", path: "/api/experience", summary: "Start the flow over for an interaction event (SignIn, Register, ForgotPassword)", public: true, cookie: true, capped: true, handler: s.putExperience, request: eventBody{}, status: 204},
		{method: "PUT", path: "/api/experience/interaction-event", summary: "Switch between SignIn and Register, keeping the verification records", public: true, cookie: true, capped: true, handler: s.switchExperienceEvent, request: switchEventBody{}, status: 204},
		{method: "GET", path: "/api/experience/interaction", summary: "The interaction so far: event, identified user, profile and verification records", public: true, cookie: true, capped: true, handler: s.getInteraction, response: interactionJSON{}, status: 200},
		{method: "POST", path: "/api/experience/verification/verification-code", summary: "Email a code for an event; the new record replaces the previous code record; resendAfter is the server's cooldown in seconds", public: true, cookie: true, capped: true, handler: s.sendExperienceCode, request: sendExperienceCodeBody{}, response: codeSentJSON{}, status: 200},
		{method: "POST", path: "/api/experience/verification/verification-code/verify", summary: "Check the code of a code record", public: true, cookie: true, capped: true, handler: s.verifyExperienceCode, request: verifyExperienceCodeBody{}, response: verificationJSON{}, status: 200},
		{method: "POST", path: "/api/experience/verification/password", summary: "Check an email address's password", public: true, cookie: true, capped: true, handler: s.verifyExperiencePassword, request: verifyPasswordBody{}, response: verificationJSON{}, status: 200},
		{method: "POST", path: "/api/experience/verification/mfa-verification-code", summary: "Email a second-factor code to the identified user's primary email (MfaVerification; BindMfa for a user binding the factor)", public: true, cookie: true, capped: true, handler: s.sendMfaCode, request: sendMfaCodeBody{}, response: codeSentJSON{}, status: 200},
		{method: "POST", path: "/api/experience/verification/mfa-verification-code/verify", summary: "Check the code of the second-factor code record", public: true, cookie: true, capped: true, handler: s.verifyMfaCode, request: verifyMfaCodeBody{}, response: verificationJSON{}, status: 200},
		{method: "POST", path: "/api/experience/identification", summary: "Identify the user of a verified record; in Register create it (201) from the record and the profile", public: true, cookie: true, capped: true, handler: s.identify, request: identificationBody{}, bodyOptional: true, status: 204, alsoStatus: []int{201}},
		{method: "POST", path: "/api/experience/profile", summary: "Add to the profile sign-up requires: a verified email, a username or a password", public: true, cookie: true, capped: true, handler: s.addProfile, request: profileBody{}, status: 204},
		{method: "POST", path: "/api/experience/profile/mfa", summary: "Bind the email factor to the identified user with a verified code record; written at submit, which then asks for no other code", public: true, cookie: true, capped: true, handler: s.bindMfa, request: bindMfaBody{}, status: 204},
		{method: "PUT", path: "/api/experience/profile/password", summary: "Set the new password of a ForgotPassword interaction", public: true, cookie: true, capped: true, handler: s.resetPassword, request: newPasswordBody{}, status: 204},
		{method: "POST", path: "/api/experience/submit", summary: "Finish the interaction: sign in (redirectTo) or write the new password; a sign-in without redirects gets the tokens of a code exchange instead (id_token, access_token, refresh_token), a Native app sending its codeVerifier", public: true, cookie: true, capped: true, handler: s.submitExperience, request: submitBody{}, bodyOptional: true, response: submitResultJSON{}, status: 200},
		{method: "POST", path: "/api/experience/direct", summary: "Start a sign-in without redirects: a Traditional app with its client secret (in the body or HTTP Basic), or a Native app with a PKCE challenge (S256), gets an interaction token that the steps take as Authorization: Bearer; SPAs and machine-to-machine apps are refused; capped per client and per application", public: true, client: true, capped: true, handler: s.startDirect, request: directBody{}, response: directStartedJSON{}, status: 200},
		{method: "GET", path: "/api/my-account", summary: "The signed-in user's account: id, and the fields the token's scopes and the account center allow", public: true, user: true, capped: true, handler: s.getMyAccount, response: account.View{}, status: 200},
		{method: "PATCH", path: "/api/my-account", summary: "Change the user's name, avatar, username (re-verified) or customData, each field Edit in the account center", public: true, user: true, capped: true, handler: s.patchMyAccount, request: account.Patch{}, reqHeaders: []param{verificationHeader()}, response: account.View{}, status: 200},
		{method: "DELETE", path: "/api/my-account", summary: "Delete the user's own account (re-verified; the account center's deleteAccount field Edit); its sessions and tokens end", public: true, user: true, capped: true, handler: s.deleteMyAccount, reqHeaders: []param{verificationHeader()}, status: 204},
		{method: "POST", path: "/api/my-account/password", summary: "Change the user's password (re-verified when the user has a password or an email)", public: true, user: true, capped: true, handler: s.setMyPassword, request: accountPasswordBody{}, reqHeaders: []param{verificationHeader()}, status: 204},
		{method: "POST", path: "/api/my-account/primary-email", summary: "Link or change the user's primary email (re-verified), proved by a verified BindNewIdentifier record for the new address; the old address gets a notice", public: true, user: true, capped: true, handler: s.setMyPrimaryEmail, request: primaryEmailBody{}, reqHeaders: []param{verificationHeader()}, status: 204},
		{method: "GET", path: "/api/my-account/mfa-verifications", summary: "The second factors the user bound (the email code), oldest first; the account center's mfa field at least ReadOnly", public: true, user: true, capped: true, handler: s.listMyMfa, response: []account.MfaFactor{}, status: 200},
		{method: "DELETE", path: "/api/my-account/mfa-verifications/{verificationId}", summary: "Remove one of the user's second factors (re-verified; the mfa field Edit)", public: true, user: true, capped: true, handler: s.removeMyMfa, reqHeaders: []param{verificationHeader()}, status: 204},
		{method: "DELETE", path: "/api/my-account/primary-email", summary: "Unlink the user's primary email (re-verified), refused when no other way to sign in is left", public: true, user: true, capped: true, handler: s.removeMyPrimaryEmail, reqHeaders: []param{verificationHeader()}, status: 204},
		{method: "POST", path: "/api/verifications/password", summary: "Check the user's password: a verification record valid 10 minutes, for the logto-verification-id header", public: true, user: true, capped: true, handler: s.verifyAccountPassword, request: accountPasswordBody{}, response: account.Created{}, status: 201},
		{method: "POST", path: "/api/verifications/verification-code", summary: "Email a code: UserPermissionValidation (or templateType BindMfa) to the user's own address, BindNewIdentifier to another", public: true, user: true, capped: true, handler: s.sendAccountCode, request: accountCodeBody{}, response: account.Created{}, status: 201},
		{method: "POST", path: "/api/verifications/verification-code/verify", summary: "Check the code of a code record the user made", public: true, user: true, capped: true, handler: s.verifyAccountCode, request: accountVerifyBody{}, response: verifiedRecordJSON{}, status: 200},
		{method: "GET", path: "/api/account-center", summary: "The account center settings: whether the account API is on, and each field's control (Off, ReadOnly, Edit)", handler: s.getAccountCenter, response: accountCenterJSON{}, status: 200},
		{method: "PATCH", path: "/api/account-center", summary: "Change the account center settings: enabled, fields (replaced whole), webauthnRelatedOrigins", handler: s.patchAccountCenter, request: account.CenterPatch{}, response: accountCenterJSON{}, status: 200},
		{method: "GET", path: "/api/deliverability/check", summary: "Check the sending domain's SPF, DKIM, DMARC, alignment and MX (domain, selector, from, provider, smtpHost default to the active connector's)", handler: s.deliverabilityCheck, query: deliverabilityQuery(), response: dnscheck.Report{}, status: 200},
	}
}

// Handler returns the HTTP handler for every route, plus /metrics.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	preflight := map[string]bool{}
	for _, rt := range s.routes {
		h := s.wrap(rt)
		if rt.user {
			h = anyOrigin(h)
			if !preflight[rt.path] {
				preflight[rt.path] = true
				mux.Handle("OPTIONS "+rt.path, anyOrigin(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					w.WriteHeader(http.StatusNoContent)
				})))
			}
		}
		mux.Handle(rt.method+" "+rt.path, h)
	}
	if s.Registry != nil {
		mux.Handle("GET /metrics", promhttp.HandlerFor(s.Registry, promhttp.HandlerOpts{}))
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, &Error{Code: "request.not_found", Message: "no route " + r.Method + " " + r.URL.Path + "; see /api/openapi.json"})
	})
	return mux
}

func (s *Server) wrap(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if p := recover(); p != nil {
				s.writeError(w, r, fmt.Errorf("handler panic on %s: %v", r.URL.Path, p))
			}
		}()
		r = r.WithContext(tenant.NewContext(r.Context(), s.resolveTenant(r)))
		if rt.capped {
			if err := s.Limiter.Allow(r.Context(), tenant.FromContext(r.Context()), s.PublicLimit, clientIP(r)); err != nil {
				ae := s.toAPIError(r.Context(), err)
				logRequestError(s.logger, r, ae)
				s.writeError(w, r, ae)
				return
			}
		}
		if !rt.public {
			if err := s.authorized(r); err != nil {
				ae := s.toAPIError(r.Context(), err) // once: an unexpected error gets one ID
				if ae.Status == http.StatusUnauthorized {
					w.Header().Set("WWW-Authenticate", `Bearer realm="authmail"`)
				}
				s.writeError(w, r, ae)
				return
			}
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		if err := rt.handler(w, r); err != nil {
			ae := s.toAPIError(r.Context(), err)
			logRequestError(s.logger, r, ae)
			s.writeError(w, r, ae)
		}
	})
}

// anyOrigin lets a page of any origin call a route with a user's access
// token, as Logto's account and verification routes allow (koaCors): the
// token is a bearer header, never a cookie, so no credentials are allowed
// and a preflight (OPTIONS) is answered 204.
func anyOrigin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Access-Control-Allow-Origin", "*")
		h.Set("Access-Control-Expose-Headers", "Retry-After")
		if r.Method == http.MethodOptions {
			h.Set("Access-Control-Allow-Methods", "GET, POST, PATCH, DELETE")
			h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, Accept-Language, "+account.VerificationHeader)
			h.Set("Access-Control-Max-Age", "600")
		}
		next.ServeHTTP(w, r)
	})
}

// resolveTenant is the one place that says which tenant a request acts
// for; every handler reads it with tenant.FromContext. A single-tenant
// install has only the default tenant.
func (s *Server) resolveTenant(*http.Request) string { return tenant.Default }

// authorized checks the request's bearer credential: the admin key of
// the request's tenant or, for another value that is shaped as a JWT
// (three parts joined by dots), a management API access token
// (tokenAuthorized). A request
// without one and one with a wrong one get the same code
// (auth.unauthorized) but different messages: whether a credential was
// sent is what the sender knows already; every wrong key gets one
// message, every refused token another, and the key is compared in
// constant time whatever it is. A database failure is an error, not a
// refusal, so an outage does not look like a wrong key.
func (s *Server) authorized(r *http.Request) error {
	key, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if key = strings.TrimSpace(key); !ok || key == "" {
		return &Error{Status: http.StatusUnauthorized, Code: "auth.unauthorized", Message: "no admin key: send it as Authorization: Bearer <key>"}
	}
	t := tenant.FromContext(r.Context())
	valid, err := s.Tenants.AdminKeyValid(r.Context(), t, key)
	if err != nil {
		return err
	}
	if !valid && strings.Count(key, ".") == 2 {
		err := s.tokenAuthorized(r.Context(), t, key)
		if errors.Is(err, errBadToken) {
			return &Error{Status: http.StatusUnauthorized, Code: "auth.unauthorized", Message: "the token is not valid"}
		}
		return err
	}
	if !valid {
		return &Error{Status: http.StatusUnauthorized, Code: "auth.unauthorized",
			Message: "the admin key is not valid: send the one written to the file admin-key in the data directory, or the one set with AUTHMAIL_ADMIN_KEY"}
	}
	return nil
}

// statusJSON is the body of /healthz and /readyz.
type statusJSON struct {
	Status string `json:"status"`
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, statusJSON{Status: "ok"})
	return nil
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) error {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.Store.Ping(ctx); err != nil {
		if !errors.Is(err, store.ErrUnavailable) { // the probe's own deadline
			err = fmt.Errorf("%w: %w", store.ErrUnavailable, err)
		}
		return err
	}
	writeJSON(w, http.StatusOK, statusJSON{Status: "ready"})
	return nil
}

// checkEmail validates a recipient address and returns its canonical form
// (package address), naming field in the error.
func checkEmail(field, email string) (address.Address, error) {
	a, err := address.Parse(email)
	var ae *address.Error
	if errors.As(err, &ae) {
		return address.Address{}, invalidInput(field, "%s", ae.Reason)
	}
	return a, err
}
