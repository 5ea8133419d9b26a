package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/authmail/authmail/internal/apps"
	"github.com/authmail/authmail/internal/identity"
	"github.com/authmail/authmail/internal/tenant"
)

// oidcClientMetadataJSON is Logto's oidcClientMetadata: the URIs an
// application may be sent back to, each matched exactly.
type oidcClientMetadataJSON struct {
	RedirectURIs           []string `json:"redirectUris"`
	PostLogoutRedirectURIs []string `json:"postLogoutRedirectUris"`
}

// applicationJSON is Logto's application object. Times are milliseconds.
// The client secret is never part of it (see createdApplicationJSON).
type applicationJSON struct {
	ID                   string                    `json:"id"`
	Name                 string                    `json:"name"`
	Description          *string                   `json:"description"`
	Type                 apps.Type                 `json:"type"`
	OIDCClientMetadata   oidcClientMetadataJSON    `json:"oidcClientMetadata"`
	CustomClientMetadata apps.CustomClientMetadata `json:"customClientMetadata"`
	ProtectedAppMetadata *struct{}                 `json:"protectedAppMetadata"`
	CustomData           map[string]any            `json:"customData"`
	IsThirdParty         bool                      `json:"isThirdParty"`
	CreatedAt            int64                     `json:"createdAt"`
}

// createdApplicationJSON is the answer to POST /api/applications: the
// application and, for a Traditional or MachineToMachine one, its client
// secret, which no later answer shows.
type createdApplicationJSON struct {
	applicationJSON
	Secret string `json:"secret,omitempty"`
}

// applicationDetailJSON is GET /api/applications/{id}: the application
// and whether it may call the management API.
type applicationDetailJSON struct {
	applicationJSON
	IsAdmin bool `json:"isAdmin"`
}

func applicationView(a apps.Application) applicationJSON {
	var desc *string
	if a.Description != "" {
		desc = &a.Description
	}
	return applicationJSON{ID: a.ID, Name: a.Name, Description: desc, Type: a.Type,
		OIDCClientMetadata:   oidcClientMetadataJSON{RedirectURIs: a.RedirectURIs, PostLogoutRedirectURIs: a.PostLogoutRedirectURIs},
		CustomClientMetadata: a.CustomClientMetadata, CustomData: a.CustomData, CreatedAt: a.CreatedAt.UnixMilli()}
}

// createApplicationBody is POST /api/applications.
type createApplicationBody struct {
	Name                 string                     `json:"name"`
	Type                 apps.Type                  `json:"type"`
	Description          *string                    `json:"description,omitempty"`
	OIDCClientMetadata   *oidcClientMetadataPatch   `json:"oidcClientMetadata,omitempty"`
	CustomClientMetadata *apps.CustomClientMetadata `json:"customClientMetadata,omitempty"`
	CustomData           map[string]any             `json:"customData,omitempty"`
	IsThirdParty         *bool                      `json:"isThirdParty,omitempty"`
}

// oidcClientMetadataPatch is oidcClientMetadata in a request: a list left
// out is empty on create and kept on update.
type oidcClientMetadataPatch struct {
	RedirectURIs           *[]string `json:"redirectUris,omitempty"`
	PostLogoutRedirectURIs *[]string `json:"postLogoutRedirectUris,omitempty"`
}

// patchApplicationBody is PATCH /api/applications/{id}: a field left out
// is kept; description null clears it; customClientMetadata and
// customData replace the old values whole; isAdmin gives or takes the
// management API role.
type patchApplicationBody struct {
	Name                 *string                    `json:"name,omitempty"`
	Description          *string                    `json:"description,omitempty"`
	OIDCClientMetadata   *oidcClientMetadataPatch   `json:"oidcClientMetadata,omitempty"`
	CustomClientMetadata *apps.CustomClientMetadata `json:"customClientMetadata,omitempty"`
	CustomData           map[string]any             `json:"customData,omitempty"`
	IsAdmin              *bool                      `json:"isAdmin,omitempty"`
}

// pageParams are Logto's paging parameters.
func pageParams(what string) []param {
	return []param{
		{name: "page", description: "The page, counted from 1", schema: map[string]any{"type": "integer", "minimum": 1, "default": 1}},
		{name: "page_size", description: what + " per page", schema: map[string]any{"type": "integer", "minimum": 1, "maximum": identity.MaxPageSize, "default": identity.DefaultPageSize}},
	}
}

// totalHeader is Logto's Total-Number header; on a route where paging is
// optional it comes only with page or page_size.
func totalHeader(what string, always bool) param {
	desc := "How many " + what + " there are, on every page"
	if !always {
		desc += " (only when page or page_size is given)"
	}
	return param{name: "Total-Number", description: desc, schema: map[string]any{"type": "integer", "minimum": 0}, required: always}
}

// applicationQuery is the application list's query parameters.
func applicationQuery() []param {
	types := appTypes()
	return append(pageParams("Applications"),
		param{name: "types", description: "Only applications of these types (repeat the parameter for more than one)",
			schema: map[string]any{"type": "array", "items": map[string]any{"type": "string", "enum": types}}},
		param{name: "isThirdParty", description: "true lists third-party applications (authmail has none); false, the others",
			schema: map[string]any{"type": "string", "enum": []string{"true", "false"}}})
}

// readPage reads Logto's page and page_size. Where paging is optional
// (Logto's koaPagination({isOptional: true})), a request with neither
// gets the whole list and paged is false.
func readPage(r *http.Request, optional bool) (p apps.Page, paged bool, err error) {
	q := r.URL.Query()
	page, size := q.Get("page"), q.Get("page_size")
	if optional && page == "" && size == "" {
		return apps.Page{}, false, nil
	}
	n, s := 1, identity.DefaultPageSize
	if page != "" {
		if n, err = strconv.Atoi(page); err != nil || n < 1 {
			return apps.Page{}, false, invalidPagination()
		}
	}
	if size != "" {
		if s, err = strconv.Atoi(size); err != nil || s < 1 || s > identity.MaxPageSize {
			return apps.Page{}, false, invalidPagination()
		}
	}
	return apps.Page{Limit: s, Offset: (n - 1) * s}, true, nil
}

func setTotal(w http.ResponseWriter, paged bool, total int) {
	if paged {
		w.Header().Set("Total-Number", strconv.Itoa(total))
	}
}

func (s *Server) listApplications(w http.ResponseWriter, r *http.Request) error {
	p, paged, err := readPage(r, true)
	if err != nil {
		return err
	}
	q := apps.ListQuery{Page: p}
	for _, t := range r.URL.Query()["types"] {
		q.Types = append(q.Types, apps.Type(t))
	}
	switch v := r.URL.Query().Get("isThirdParty"); v {
	case "":
	case "true", "false":
		third := v == "true"
		q.ThirdParty = &third
	default:
		return invalidInput("isThirdParty", "must be true or false")
	}
	list, total, err := s.Apps.List(r.Context(), tenant.FromContext(r.Context()), q)
	if err != nil {
		return err
	}
	out := make([]applicationJSON, 0, len(list))
	for _, a := range list {
		out = append(out, applicationView(a))
	}
	setTotal(w, paged, total)
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) createApplication(w http.ResponseWriter, r *http.Request) error {
	var b createApplicationBody
	if err := decode(r, &b); err != nil {
		return err
	}
	if b.IsThirdParty != nil && *b.IsThirdParty {
		return invalidInput("isThirdParty", "must be false: authmail has no third-party applications")
	}
	n := apps.NewApplication{Name: b.Name, Type: b.Type, CustomData: b.CustomData}
	if b.Description != nil {
		n.Description = *b.Description
	}
	if m := b.OIDCClientMetadata; m != nil {
		if m.RedirectURIs != nil {
			n.RedirectURIs = *m.RedirectURIs
		}
		if m.PostLogoutRedirectURIs != nil {
			n.PostLogoutRedirectURIs = *m.PostLogoutRedirectURIs
		}
	}
	if b.CustomClientMetadata != nil {
		n.CustomClientMetadata = *b.CustomClientMetadata
	}
	res, err := s.Apps.Create(r.Context(), tenant.FromContext(r.Context()), n)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, createdApplicationJSON{applicationJSON: applicationView(res.Application), Secret: res.Secret})
	return nil
}

func (s *Server) getApplication(w http.ResponseWriter, r *http.Request) error {
	d, err := s.Apps.GetDetail(r.Context(), tenant.FromContext(r.Context()), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, applicationDetailJSON{applicationJSON: applicationView(d.Application), IsAdmin: d.IsAdmin})
	return nil
}

func (s *Server) patchApplication(w http.ResponseWriter, r *http.Request) error {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		return &Error{Status: http.StatusUnsupportedMediaType, Code: "guard.invalid_content_type", Message: "send the body as application/json"}
	}
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		return bodyError(err, int64(len(raw)))
	}
	var b patchApplicationBody
	if err := decodeJSON(bytes.NewReader(raw), &b); err != nil {
		return err
	}
	var present map[string]json.RawMessage
	if err := json.Unmarshal(raw, &present); err != nil || present == nil {
		return invalidInput("", "the body must be an object")
	}
	p := apps.Patch{Name: b.Name, Description: b.Description, CustomClientMetadata: b.CustomClientMetadata, CustomData: b.CustomData, IsAdmin: b.IsAdmin}
	if _, ok := present["description"]; ok && b.Description == nil {
		p.Description = new(string) // null clears it
	}
	for _, name := range []string{"name", "oidcClientMetadata", "customClientMetadata", "customData", "isAdmin"} {
		if v, ok := present[name]; ok && string(v) == "null" {
			return invalidInput(name, "must not be null")
		}
	}
	if m := b.OIDCClientMetadata; m != nil {
		p.RedirectURIs, p.PostLogoutRedirectURIs = m.RedirectURIs, m.PostLogoutRedirectURIs
	}
	a, err := s.Apps.Update(r.Context(), tenant.FromContext(r.Context()), r.PathValue("id"), p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, applicationView(a))
	return nil
}

func (s *Server) deleteApplication(w http.ResponseWriter, r *http.Request) error {
	if err := s.Apps.Delete(r.Context(), tenant.FromContext(r.Context()), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// roleJSON is Logto's role object.
type roleJSON struct {
	ID          string        `json:"id"`
	Name        string        `json:"name"`
	Description string        `json:"description"`
	Type        apps.RoleType `json:"type"`
	IsDefault   bool          `json:"isDefault"`
}

func roleView(r apps.Role) roleJSON {
	return roleJSON{ID: r.ID, Name: r.Name, Description: r.Description, Type: r.Type, IsDefault: r.IsDefault}
}

// featuredUserJSON is a user a role list features.
type featuredUserJSON struct {
	ID     string  `json:"id"`
	Avatar *string `json:"avatar"`
	Name   *string `json:"name"`
}

// featuredApplicationJSON is an application a role list features.
type featuredApplicationJSON struct {
	ID   string    `json:"id"`
	Name string    `json:"name"`
	Type apps.Type `json:"type"`
}

// roleSummaryJSON is a role as GET /api/roles lists it, with who holds it.
type roleSummaryJSON struct {
	roleJSON
	UsersCount           int                       `json:"usersCount"`
	FeaturedUsers        []featuredUserJSON        `json:"featuredUsers"`
	ApplicationsCount    int                       `json:"applicationsCount"`
	FeaturedApplications []featuredApplicationJSON `json:"featuredApplications"`
}

// roleQuery is the role list's query parameters.
func roleQuery() []param {
	types := roleTypes()
	return append(pageParams("Roles"),
		param{name: "type", description: "Only roles of this type", schema: map[string]any{"type": "string", "enum": types}})
}

func (s *Server) listRoles(w http.ResponseWriter, r *http.Request) error {
	p, _, err := readPage(r, false)
	if err != nil {
		return err
	}
	list, total, err := s.Apps.Roles(r.Context(), tenant.FromContext(r.Context()), apps.RoleType(r.URL.Query().Get("type")), p)
	if err != nil {
		return err
	}
	out := make([]roleSummaryJSON, 0, len(list))
	for _, sum := range list {
		v := roleSummaryJSON{roleJSON: roleView(sum.Role), UsersCount: sum.UsersCount, FeaturedUsers: []featuredUserJSON{},
			ApplicationsCount: sum.ApplicationsCount, FeaturedApplications: []featuredApplicationJSON{}}
		for _, u := range sum.FeaturedUsers {
			v.FeaturedUsers = append(v.FeaturedUsers, featuredUserJSON{ID: u.ID, Avatar: nonEmpty(u.Avatar), Name: nonEmpty(u.Name)})
		}
		for _, a := range sum.FeaturedApplications {
			v.FeaturedApplications = append(v.FeaturedApplications, featuredApplicationJSON{ID: a.ID, Name: a.Name, Type: a.Type})
		}
		out = append(out, v)
	}
	setTotal(w, true, total)
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) listApplicationRoles(w http.ResponseWriter, r *http.Request) error {
	p, _, err := readPage(r, false)
	if err != nil {
		return err
	}
	roles, total, err := s.Apps.AppRoles(r.Context(), tenant.FromContext(r.Context()), r.PathValue("applicationId"), p)
	if err != nil {
		return err
	}
	writeRoles(w, roles, total)
	return nil
}

// writeRoles answers a page of roles with their total.
func writeRoles(w http.ResponseWriter, roles []apps.Role, total int) {
	writePage(w, true, total, views(roles, roleView))
}

// views maps the items a service returned to their JSON shape; an empty
// list is [], never null.
func views[T, J any](items []T, view func(T) J) []J {
	out := make([]J, 0, len(items))
	for _, it := range items {
		out = append(out, view(it))
	}
	return out
}

// writePage answers a list with its total (the Total-Number header when
// the list is paged).
func writePage[J any](w http.ResponseWriter, paged bool, total int, out []J) {
	setTotal(w, paged, total)
	writeJSON(w, http.StatusOK, out)
}

// roleIDsBody is POST /api/applications/{applicationId}/roles.
type roleIDsBody struct {
	RoleIDs []string `json:"roleIds"`
}

// assignedRolesJSON answers it: the roles asked for and those the
// application did not hold before.
type assignedRolesJSON struct {
	RoleIDs      []string `json:"roleIds"`
	AddedRoleIDs []string `json:"addedRoleIds"`
}

func (s *Server) assignApplicationRoles(w http.ResponseWriter, r *http.Request) error {
	var b roleIDsBody
	if err := decode(r, &b); err != nil {
		return err
	}
	if b.RoleIDs == nil {
		return invalidInput("roleIds", "must be an array of role IDs")
	}
	for i, id := range b.RoleIDs {
		if id == "" {
			return invalidInput(fmt.Sprintf("roleIds[%d]", i), "must not be empty")
		}
	}
	added, err := s.Apps.AssignRoles(r.Context(), tenant.FromContext(r.Context()), r.PathValue("applicationId"), b.RoleIDs)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, assignedRolesJSON{RoleIDs: b.RoleIDs, AddedRoleIDs: added})
	return nil
}

// nonEmpty is s, or nil for "" (Logto's null).
func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// roleIDsOf reads a body of role IDs.
func roleIDsOf(r *http.Request) ([]string, error) {
	var b roleIDsBody
	if err := decode(r, &b); err != nil {
		return nil, err
	}
	if len(b.RoleIDs) == 0 {
		return nil, invalidInput("roleIds", "must be an array of at least one role ID")
	}
	for i, id := range b.RoleIDs {
		if id == "" {
			return nil, invalidInput(fmt.Sprintf("roleIds[%d]", i), "must not be empty")
		}
	}
	return b.RoleIDs, nil
}

func (s *Server) listUserRoles(w http.ResponseWriter, r *http.Request) error {
	p, _, err := readPage(r, false)
	if err != nil {
		return err
	}
	roles, total, err := s.Apps.UserRoles(r.Context(), tenant.FromContext(r.Context()), r.PathValue("userId"), p)
	if err != nil {
		return err
	}
	writeRoles(w, roles, total)
	return nil
}

func (s *Server) assignUserRoles(w http.ResponseWriter, r *http.Request) error {
	ids, err := roleIDsOf(r)
	if err != nil {
		return err
	}
	if err := s.Apps.AssignUserRoles(r.Context(), tenant.FromContext(r.Context()), r.PathValue("userId"), ids); err != nil {
		return err
	}
	w.WriteHeader(http.StatusCreated)
	return nil
}

func (s *Server) replaceUserRoles(w http.ResponseWriter, r *http.Request) error {
	ids, err := roleIDsOf(r)
	if err != nil {
		return err
	}
	if err := s.Apps.ReplaceUserRoles(r.Context(), tenant.FromContext(r.Context()), r.PathValue("userId"), ids); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

func (s *Server) removeUserRole(w http.ResponseWriter, r *http.Request) error {
	if err := s.Apps.RemoveUserRole(r.Context(), tenant.FromContext(r.Context()), r.PathValue("userId"), r.PathValue("roleId")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) removeApplicationRole(w http.ResponseWriter, r *http.Request) error {
	if err := s.Apps.RemoveRole(r.Context(), tenant.FromContext(r.Context()), r.PathValue("applicationId"), r.PathValue("roleId")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// scopeJSON is a scope of a resource, Logto's shape.
type scopeJSON struct {
	ID          string `json:"id"`
	ResourceID  string `json:"resourceId"`
	Name        string `json:"name"`
	Description string `json:"description"`
}

// resourceJSON is Logto's API resource object; scopes are listed with
// includeScopes=true, and on create (none yet).
type resourceJSON struct {
	ID             string       `json:"id"`
	Name           string       `json:"name"`
	Indicator      string       `json:"indicator"`
	IsDefault      bool         `json:"isDefault"`
	AccessTokenTTL int          `json:"accessTokenTtl"`
	Scopes         *[]scopeJSON `json:"scopes,omitempty"`
}

func resourceView(r apps.Resource, withScopes bool) resourceJSON {
	v := resourceJSON{ID: r.ID, Name: r.Name, Indicator: r.Indicator, IsDefault: r.IsDefault, AccessTokenTTL: r.AccessTokenTTL}
	if withScopes {
		scopes := []scopeJSON{}
		for _, sc := range r.Scopes {
			scopes = append(scopes, scopeJSON{ID: sc.ID, ResourceID: r.ID, Name: sc.Name, Description: sc.Description})
		}
		v.Scopes = &scopes
	}
	return v
}

// createResourceBody is POST /api/resources.
type createResourceBody struct {
	Name           string `json:"name"`
	Indicator      string `json:"indicator"`
	AccessTokenTTL *int   `json:"accessTokenTtl,omitempty"`
}

// resourceQuery is the resource list's query parameters.
func resourceQuery() []param {
	return append(pageParams("Resources"),
		param{name: "includeScopes", description: "true lists each resource's scopes", schema: map[string]any{"type": "string"}})
}

func (s *Server) listResources(w http.ResponseWriter, r *http.Request) error {
	p, paged, err := readPage(r, true)
	if err != nil {
		return err
	}
	list, total, err := s.Apps.Resources(r.Context(), tenant.FromContext(r.Context()), p)
	if err != nil {
		return err
	}
	withScopes := r.URL.Query().Get("includeScopes") == "true"
	writePage(w, paged, total, views(list, func(res apps.Resource) resourceJSON { return resourceView(res, withScopes) }))
	return nil
}

func (s *Server) createResource(w http.ResponseWriter, r *http.Request) error {
	var b createResourceBody
	if err := decode(r, &b); err != nil {
		return err
	}
	n := apps.NewResource{Name: b.Name, Indicator: b.Indicator}
	if b.AccessTokenTTL != nil {
		if *b.AccessTokenTTL == 0 {
			return invalidInput("accessTokenTtl", "must be from 1 to %d seconds", apps.MaxAccessTokenTTL)
		}
		n.AccessTokenTTL = *b.AccessTokenTTL
	}
	res, err := s.Apps.CreateResource(r.Context(), tenant.FromContext(r.Context()), n)
	if errors.Is(err, apps.ErrIndicatorInUse) {
		return &Error{Status: http.StatusUnprocessableEntity, Code: "resource.resource_identifier_in_use",
			Message: fmt.Sprintf("The API identifier %s is already in use", b.Indicator), Data: map[string]string{"indicator": b.Indicator}}
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, resourceView(res, true))
	return nil
}

func (s *Server) getResource(w http.ResponseWriter, r *http.Request) error {
	res, err := s.Apps.ResourceByID(r.Context(), tenant.FromContext(r.Context()), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, resourceView(res, false))
	return nil
}

// appsError is Logto's answer to what the apps service refuses.
func appsError(err error) *Error {
	var nf *apps.NotFoundError
	var fe *apps.FieldError
	switch {
	case errors.As(err, &nf):
		return &Error{Status: http.StatusNotFound, Code: "entity.not_exists_with_id",
			Message: fmt.Sprintf("The %s with ID `%s` does not exist.", nf.Entity, nf.ID), Data: map[string]string{"name": nf.Entity, "id": nf.ID}}
	case errors.As(err, &fe):
		return invalidInput(fe.Field, "%s", fe.Reason)
	case errors.Is(err, apps.ErrNotMachineToMachine):
		return &Error{Status: http.StatusUnprocessableEntity, Code: "application.invalid_type", Message: "Only machine to machine applications can have associated roles."}
	case errors.Is(err, apps.ErrUserRole):
		return &Error{Status: http.StatusUnprocessableEntity, Code: "application.invalid_role_type", Message: "Can not assign user type role to machine to machine application."}
	case errors.Is(err, apps.ErrMachineRole):
		return &Error{Status: http.StatusUnprocessableEntity, Code: "user.invalid_role_type", Message: "Invalid role type, can not assign machine to machine role to user."}
	case errors.Is(err, apps.ErrUserRoleNotHeld):
		return &Error{Status: http.StatusNotFound, Code: "entity.not_found", Message: "The user does not hold this role."}
	case errors.Is(err, apps.ErrRoleNotHeld):
		return &Error{Status: http.StatusNotFound, Code: "entity.not_found", Message: "The application does not hold this role."}
	}
	return nil
}
