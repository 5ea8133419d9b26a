package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/authmail/authmail/internal/orgs"
	"github.com/authmail/authmail/internal/tenant"
)

// organizationJSON is Logto's organization object; times are
// milliseconds.
type organizationJSON struct {
	TenantID      string         `json:"tenantId"`
	ID            string         `json:"id"`
	Name          string         `json:"name"`
	Description   *string        `json:"description"`
	CustomData    map[string]any `json:"customData"`
	IsMfaRequired bool           `json:"isMfaRequired"`
	Color         map[string]any `json:"color"`
	Branding      map[string]any `json:"branding"`
	CustomCSS     *string        `json:"customCss"`
	CreatedAt     int64          `json:"createdAt"`
}

func orNull(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func organizationView(t string, o orgs.Organization) organizationJSON {
	return organizationJSON{TenantID: t, ID: o.ID, Name: o.Name, Description: orNull(o.Description), CustomData: o.CustomData,
		IsMfaRequired: o.IsMfaRequired, Color: o.Color, Branding: o.Branding, CustomCSS: orNull(o.CustomCSS), CreatedAt: o.CreatedAt.UnixMilli()}
}

// organizationBody is POST /api/organizations and PATCH
// /api/organizations/{id}: on a change, a field left out is kept, null
// clears description and customCss, and customData, color and branding
// replace the old values. customData.invitationReturnUrl is where the
// hosted accept page sends a new member.
type organizationBody struct {
	Name          *string        `json:"name,omitempty"`
	Description   *string        `json:"description,omitempty"`
	CustomData    map[string]any `json:"customData,omitempty"`
	IsMfaRequired *bool          `json:"isMfaRequired,omitempty"`
	Color         map[string]any `json:"color,omitempty"`
	Branding      map[string]any `json:"branding,omitempty"`
	CustomCSS     *string        `json:"customCss,omitempty"`
}

// organizationRoleJSON is Logto's organization role object.
type organizationRoleJSON struct {
	TenantID    string  `json:"tenantId"`
	ID          string  `json:"id"`
	Name        string  `json:"name"`
	Description *string `json:"description"`
	Type        string  `json:"type"`
}

// orgScopeJSON is an organization scope or resource scope of a role; authmail
// has none yet, so the lists are empty.
type orgScopeJSON struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// organizationRoleWithScopesJSON is a role as Logto's role list shows it.
type organizationRoleWithScopesJSON struct {
	organizationRoleJSON
	Scopes         []orgScopeJSON `json:"scopes"`
	ResourceScopes []orgScopeJSON `json:"resourceScopes"`
}

func organizationRoleView(t string, r orgs.Role) organizationRoleJSON {
	return organizationRoleJSON{TenantID: t, ID: r.ID, Name: r.Name, Description: orNull(r.Description), Type: r.Type}
}

// organizationRoleBody is POST /api/organization-roles and PATCH
// /api/organization-roles/{id} (where type cannot change).
type organizationRoleBody struct {
	Name        *string `json:"name,omitempty"`
	Description *string `json:"description,omitempty"`
	Type        *string `json:"type,omitempty"`
}

// roleRefJSON is a role as a member or an invitation lists it.
type roleRefJSON struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

func roleRefs(roles []orgs.Role) []roleRefJSON {
	out := make([]roleRefJSON, 0, len(roles))
	for _, r := range roles {
		out = append(out, roleRefJSON{ID: r.ID, Name: r.Name})
	}
	return out
}

// memberJSON is a member as Logto lists them: the user with the roles
// they hold in the organization.
type memberJSON struct {
	userJSON
	OrganizationRoles []roleRefJSON `json:"organizationRoles"`
}

// userIDsBody is POST /api/organizations/{id}/users.
type userIDsBody struct {
	UserIDs []string `json:"userIds"`
}

// memberRolesBody is POST and PUT /api/organizations/{id}/users/{userId}/roles.
type memberRolesBody struct {
	OrganizationRoleIDs   []string `json:"organizationRoleIds,omitempty"`
	OrganizationRoleNames []string `json:"organizationRoleNames,omitempty"`
}

// assignedMemberRolesJSON answers POST .../roles.
type assignedMemberRolesJSON struct {
	OrganizationRoleIDs []string `json:"organizationRoleIds"`
}

// searchQuery is Logto's paging with its q search.
func searchQuery(what, searched string) []param {
	return append(pageParams(what), stringParam("q", "Only the "+strings.ToLower(what)+" whose "+searched+" contains this (case-insensitive; % matches anything)"))
}

// orgPage reads page and page_size as Logto's required paging does.
func orgPage(r *http.Request) (orgs.Page, error) {
	p, _, err := readPage(r, false)
	if err != nil {
		return orgs.Page{}, err
	}
	return orgs.Page{Page: p.Offset/p.Limit + 1, PageSize: p.Limit}, nil
}

// readPatch decodes a change's body into v and says which members it
// gave, so that a member given as null can be told from one left out.
func readPatch(r *http.Request, v any) (map[string]json.RawMessage, error) {
	if ct := r.Header.Get("Content-Type"); ct != "" && !isJSON(ct) {
		return nil, &Error{Status: http.StatusUnsupportedMediaType, Code: "guard.invalid_content_type", Message: "send the body as application/json"}
	}
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, bodyError(err, int64(len(raw)))
	}
	if err := decodeJSON(bytes.NewReader(raw), v); err != nil {
		return nil, err
	}
	var present map[string]json.RawMessage
	if err := json.Unmarshal(raw, &present); err != nil || present == nil {
		return nil, invalidInput("", "the body must be an object")
	}
	return present, nil
}

// clearedBy is v, or "" when the body gave the member as null.
func clearedBy(present map[string]json.RawMessage, name string, v *string) *string {
	if _, ok := present[name]; ok && v == nil {
		return new(string)
	}
	return v
}

func (b organizationBody) input() orgs.OrganizationInput {
	return orgs.OrganizationInput{Name: b.Name, Description: b.Description, CustomCSS: b.CustomCSS, CustomData: b.CustomData,
		Color: b.Color, Branding: b.Branding, IsMfaRequired: b.IsMfaRequired}
}

func (s *Server) createOrganization(w http.ResponseWriter, r *http.Request) error {
	var b organizationBody
	if err := decode(r, &b); err != nil {
		return err
	}
	t := tenant.FromContext(r.Context())
	o, err := s.Orgs.CreateOrganization(r.Context(), t, b.input())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, organizationView(t, o))
	return nil
}

func (s *Server) listOrganizations(w http.ResponseWriter, r *http.Request) error {
	p, err := orgPage(r)
	if err != nil {
		return err
	}
	t := tenant.FromContext(r.Context())
	list, total, err := s.Orgs.Organizations(r.Context(), t, r.URL.Query().Get("q"), p)
	if err != nil {
		return err
	}
	writePage(w, true, total, views(list, func(o orgs.Organization) organizationJSON { return organizationView(t, o) }))
	return nil
}

func (s *Server) getOrganization(w http.ResponseWriter, r *http.Request) error {
	t := tenant.FromContext(r.Context())
	o, err := s.Orgs.Organization(r.Context(), t, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, organizationView(t, o))
	return nil
}

func (s *Server) patchOrganization(w http.ResponseWriter, r *http.Request) error {
	var b organizationBody
	present, err := readPatch(r, &b)
	if err != nil {
		return err
	}
	for _, name := range []string{"name", "customData", "color", "branding", "isMfaRequired"} {
		if raw, ok := present[name]; ok && string(raw) == "null" {
			return invalidInput(name, "must not be null")
		}
	}
	in := b.input()
	in.Description, in.CustomCSS = clearedBy(present, "description", b.Description), clearedBy(present, "customCss", b.CustomCSS)
	t := tenant.FromContext(r.Context())
	o, err := s.Orgs.UpdateOrganization(r.Context(), t, r.PathValue("id"), in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, organizationView(t, o))
	return nil
}

func (s *Server) deleteOrganization(w http.ResponseWriter, r *http.Request) error {
	if err := s.Orgs.DeleteOrganization(r.Context(), tenant.FromContext(r.Context()), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) listMembers(w http.ResponseWriter, r *http.Request) error {
	p, err := orgPage(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	list, total, err := s.Orgs.Members(r.Context(), tenant.FromContext(r.Context()), r.PathValue("id"), q.Get("q"), q.Get("organizationRoleId"), p)
	if err != nil {
		return err
	}
	out := make([]memberJSON, 0, len(list))
	for _, m := range list {
		out = append(out, memberJSON{userJSON: userView(m.User), OrganizationRoles: roleRefs(m.Roles)})
	}
	setTotal(w, true, total)
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) addMembers(w http.ResponseWriter, r *http.Request) error {
	var b userIDsBody
	if err := decode(r, &b); err != nil {
		return err
	}
	if err := s.Orgs.AddMembers(r.Context(), tenant.FromContext(r.Context()), r.PathValue("id"), b.UserIDs); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, b)
	return nil
}

func (s *Server) replaceMembers(w http.ResponseWriter, r *http.Request) error {
	var b userIDsBody
	if err := decode(r, &b); err != nil {
		return err
	}
	if b.UserIDs == nil {
		return invalidInput("userIds", "is required")
	}
	if err := s.Orgs.ReplaceMembers(r.Context(), tenant.FromContext(r.Context()), r.PathValue("id"), b.UserIDs); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// membersRolesBody is POST /api/organizations/{id}/users/roles.
type membersRolesBody struct {
	UserIDs             []string `json:"userIds"`
	OrganizationRoleIDs []string `json:"organizationRoleIds"`
}

func (s *Server) assignMembersRoles(w http.ResponseWriter, r *http.Request) error {
	var b membersRolesBody
	if err := decode(r, &b); err != nil {
		return err
	}
	if err := s.Orgs.AssignRolesToMembers(r.Context(), tenant.FromContext(r.Context()), r.PathValue("id"), b.UserIDs, b.OrganizationRoleIDs); err != nil {
		return err
	}
	w.WriteHeader(http.StatusCreated)
	return nil
}

// userOrganizationJSON is an organization a user is a member of, with the
// roles the user holds there (Logto's organization with roles).
type userOrganizationJSON struct {
	organizationJSON
	OrganizationRoles []roleRefJSON `json:"organizationRoles"`
}

func (s *Server) listUserOrganizations(w http.ResponseWriter, r *http.Request) error {
	t := tenant.FromContext(r.Context())
	list, err := s.Orgs.UserOrganizations(r.Context(), t, r.PathValue("userId"))
	if err != nil {
		return err
	}
	out := make([]userOrganizationJSON, 0, len(list))
	for _, uo := range list {
		out = append(out, userOrganizationJSON{organizationJSON: organizationView(t, uo.Organization), OrganizationRoles: roleRefs(uo.Roles)})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) removeMember(w http.ResponseWriter, r *http.Request) error {
	if err := s.Orgs.RemoveMember(r.Context(), tenant.FromContext(r.Context()), r.PathValue("id"), r.PathValue("userId")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) listMemberRoles(w http.ResponseWriter, r *http.Request) error {
	t := tenant.FromContext(r.Context())
	roles, err := s.Orgs.MemberRoles(r.Context(), t, r.PathValue("id"), r.PathValue("userId"))
	if err != nil {
		return err
	}
	out := make([]organizationRoleJSON, 0, len(roles))
	for _, ro := range roles {
		out = append(out, organizationRoleView(t, ro))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) assignMemberRoles(w http.ResponseWriter, r *http.Request) error {
	return s.memberRoles(w, r, false)
}

func (s *Server) replaceMemberRoles(w http.ResponseWriter, r *http.Request) error {
	return s.memberRoles(w, r, true)
}

func (s *Server) memberRoles(w http.ResponseWriter, r *http.Request, replace bool) error {
	var b memberRolesBody
	if err := decode(r, &b); err != nil {
		return err
	}
	ids, err := s.Orgs.AssignRoles(r.Context(), tenant.FromContext(r.Context()), r.PathValue("id"), r.PathValue("userId"),
		b.OrganizationRoleIDs, b.OrganizationRoleNames, replace)
	if err != nil {
		return err
	}
	if replace {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	writeJSON(w, http.StatusCreated, assignedMemberRolesJSON{OrganizationRoleIDs: ids})
	return nil
}

func (s *Server) removeMemberRole(w http.ResponseWriter, r *http.Request) error {
	if err := s.Orgs.RemoveRole(r.Context(), tenant.FromContext(r.Context()), r.PathValue("id"), r.PathValue("userId"),
		r.PathValue("organizationRoleId")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) createOrganizationRole(w http.ResponseWriter, r *http.Request) error {
	var b organizationRoleBody
	if err := decode(r, &b); err != nil {
		return err
	}
	t := tenant.FromContext(r.Context())
	ro, err := s.Orgs.CreateRole(r.Context(), t, orgs.RoleInput{Name: b.Name, Description: b.Description, Type: b.Type})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, organizationRoleView(t, ro))
	return nil
}

func (s *Server) listOrganizationRoles(w http.ResponseWriter, r *http.Request) error {
	p, err := orgPage(r)
	if err != nil {
		return err
	}
	t := tenant.FromContext(r.Context())
	list, total, err := s.Orgs.Roles(r.Context(), t, r.URL.Query().Get("q"), p)
	if err != nil {
		return err
	}
	out := make([]organizationRoleWithScopesJSON, 0, len(list))
	for _, ro := range list {
		out = append(out, organizationRoleWithScopesJSON{organizationRoleJSON: organizationRoleView(t, ro), Scopes: []orgScopeJSON{}, ResourceScopes: []orgScopeJSON{}})
	}
	setTotal(w, true, total)
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) getOrganizationRole(w http.ResponseWriter, r *http.Request) error {
	t := tenant.FromContext(r.Context())
	ro, err := s.Orgs.Role(r.Context(), t, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, organizationRoleView(t, ro))
	return nil
}

func (s *Server) patchOrganizationRole(w http.ResponseWriter, r *http.Request) error {
	var b organizationRoleBody
	present, err := readPatch(r, &b)
	if err != nil {
		return err
	}
	if raw, ok := present["name"]; ok && string(raw) == "null" {
		return invalidInput("name", "must not be null")
	}
	t := tenant.FromContext(r.Context())
	ro, err := s.Orgs.UpdateRole(r.Context(), t, r.PathValue("id"), orgs.RoleInput{Name: b.Name, Description: clearedBy(present, "description", b.Description), Type: b.Type})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, organizationRoleView(t, ro))
	return nil
}

func (s *Server) deleteOrganizationRole(w http.ResponseWriter, r *http.Request) error {
	if err := s.Orgs.DeleteRole(r.Context(), tenant.FromContext(r.Context()), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// orgsError maps the organization service's refusals.
func orgsError(err error) *Error {
	var nf *orgs.NotFoundError
	var fe *orgs.FieldError
	var oe *orgs.Error
	switch {
	case errors.As(err, &nf):
		return &Error{Status: http.StatusNotFound, Code: "entity.not_exists_with_id",
			Message: fmt.Sprintf("The %s with ID `%s` does not exist.", nf.Entity, nf.ID), Data: map[string]string{"name": nf.Entity, "id": nf.ID}}
	case errors.As(err, &fe):
		if fe.Field == "page" {
			return invalidPagination()
		}
		return invalidInput(fe.Field, "%s", fe.Reason)
	case errors.As(err, &oe):
		return &Error{Status: oe.Status, Code: oe.Code, Message: oe.Message, Data: oe.Data}
	}
	return nil
}
