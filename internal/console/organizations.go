package console

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/authmail/authmail/internal/address"
	"github.com/authmail/authmail/internal/delivery"
	"github.com/authmail/authmail/internal/identity"
	"github.com/authmail/authmail/internal/orgs"
	"github.com/authmail/authmail/internal/store"
)

// orgsPageSize is how many organizations (or members, or roles) one page
// of a list shows.
const orgsPageSize = 25

// pager is the page ?page= asks for (from 1) and the links to its
// neighbours: path with the page number and, when not "", the search.
type pager struct {
	N          int
	Prev, Next string
}

// newPager reads ?page= of the request for a list under path.
func (p *page) newPager() pager {
	n, _ := strconv.Atoi(p.r.URL.Query().Get("page"))
	return pager{N: max(n, 1)}
}

// links sets the neighbours' links once the list's total is known.
func (pg *pager) links(path, search string, size, total int) {
	link := func(page int) string {
		v := url.Values{"page": {strconv.Itoa(page)}}
		if search != "" {
			v.Set("search", search)
		}
		return path + "?" + v.Encode()
	}
	if pg.N > 1 {
		pg.Prev = link(pg.N - 1)
	}
	if pg.N*size < total {
		pg.Next = link(pg.N + 1)
	}
}

// organizationsData is what the organizations page shows.
type organizationsData struct {
	Search        string
	Organizations []orgs.Organization
	Total         int
	Pages         pager
	// New holds what the create form was given, after a refusal.
	New newOrgForm
}

// newOrgForm is the create form's values.
type newOrgForm struct{ Name, Description string }

// organizationsPage lists the tenant's organizations, newest first, a
// page at a time, those whose ID or name holds ?search= when given.
func (s *Server) organizationsPage(p *page) error {
	return s.renderOrganizations(p, p.view("organizations"), http.StatusOK, newOrgForm{})
}

func (s *Server) renderOrganizations(p *page, v view, status int, form newOrgForm) error {
	d := organizationsData{Search: strings.TrimSpace(p.r.URL.Query().Get("search")), New: form, Pages: p.newPager()}
	var err error
	d.Organizations, d.Total, err = s.Orgs.Organizations(p.r.Context(), p.tenant, d.Search, orgs.Page{Page: d.Pages.N, PageSize: orgsPageSize})
	if err != nil {
		return err
	}
	d.Pages.links(Prefix+"/organizations", d.Search, orgsPageSize, d.Total)
	v.Data = d
	p.render(status, "organizations", v)
	return nil
}

// orgError is the input an organizations error is about and its
// sentence; ok is false for an error no input explains.
func orgError(err error, ids map[string]string) (id, sentence string, ok bool) {
	var fe *orgs.FieldError
	var oe *orgs.Error
	switch {
	case errors.As(err, &fe):
		id := ids[fe.Field]
		if id == "" {
			id = ids[""]
		}
		return id, fe.Error(), true
	case errors.As(err, &oe):
		return ids[""], oe.Message, true
	}
	return "", "", false
}

// refused renders a page's form again with the refusal next to the input
// id; fix is the sentence about the whole form.
func (p *page) refused(v view, id, sentence string, fix msg) view {
	v.Fields, v.Focus, v.Error = map[string]string{id: sentence}, id, p.cat.text(fix)
	return v
}

// createOrganization creates an organization from the list page's form.
func (s *Server) createOrganization(p *page) error {
	f := p.r.PostForm
	form := newOrgForm{Name: strings.TrimSpace(f.Get("name")), Description: strings.TrimSpace(f.Get("description"))}
	o, err := s.Orgs.CreateOrganization(p.r.Context(), p.tenant, orgs.OrganizationInput{Name: &form.Name, Description: &form.Description})
	if err != nil {
		id, sentence, ok := orgError(err, map[string]string{"name": "org-name", "description": "org-description", "": "org-name"})
		if !ok {
			return err
		}
		return s.renderOrganizations(p, p.refused(p.view("organizations"), id, sentence, msg("organizations.fix")), http.StatusBadRequest, form)
	}
	return p.redirect(orgPath(o.ID) + "?notice=organization_created")
}

// orgPath is the console page of an organization.
func orgPath(id string) string { return Prefix + "/organizations/" + url.PathEscape(id) }

// rolesData is what the organization roles page shows.
type rolesData struct {
	Roles []orgs.Role
	Total int
	Pages pager
	Types []string
	// New holds what the create form was given, after a refusal.
	New newRoleForm
}

// newRoleForm is the role create form's values.
type newRoleForm struct{ Name, Description, Type string }

// organizationRolesPage lists the organization template's roles by name,
// with the form to create one.
func (s *Server) organizationRolesPage(p *page) error {
	return s.renderRoles(p, p.view("organizations"), http.StatusOK, newRoleForm{Type: "User"})
}

func (s *Server) renderRoles(p *page, v view, status int, form newRoleForm) error {
	d := rolesData{Types: orgs.RoleTypes(), New: form, Pages: p.newPager()}
	var err error
	d.Roles, d.Total, err = s.Orgs.Roles(p.r.Context(), p.tenant, "", orgs.Page{Page: d.Pages.N, PageSize: orgsPageSize})
	if err != nil {
		return err
	}
	d.Pages.links(Prefix+"/organization-roles", "", orgsPageSize, d.Total)
	v.Data = d
	p.render(status, "organization-roles", v)
	return nil
}

// createOrganizationRole creates an organization role; its name is
// unique in the tenant.
func (s *Server) createOrganizationRole(p *page) error {
	f := p.r.PostForm
	form := newRoleForm{Name: strings.TrimSpace(f.Get("name")), Description: strings.TrimSpace(f.Get("description")), Type: f.Get("type")}
	_, err := s.Orgs.CreateRole(p.r.Context(), p.tenant, orgs.RoleInput{Name: &form.Name, Description: &form.Description, Type: &form.Type})
	if err != nil {
		id, sentence, ok := orgError(err, map[string]string{"name": "role-name", "description": "role-description", "type": "role-type", "": "role-name"})
		if !ok {
			return err
		}
		return s.renderRoles(p, p.refused(p.view("organizations"), id, sentence, msg("organization_roles.fix")), http.StatusBadRequest, form)
	}
	return p.redirect(Prefix + "/organization-roles?notice=organization_role_created")
}

// organizationData is what one organization's page shows.
type organizationData struct {
	Organization orgs.Organization
	Members      []memberRow
	MembersTotal int
	Pages        pager
	// Roles are the roles a member may hold (the User ones).
	Roles       []orgs.Role
	Invitations []invitationRow
	// AddMember and Invite hold what those forms were given, after a
	// refusal.
	AddMember string
	Invite    inviteForm
}

// memberRow is one member with the roles they do not hold yet.
type memberRow struct {
	orgs.Member
	Available []orgs.Role
}

// invitationRow is one invitation with its status in the page's
// language.
type invitationRow struct {
	orgs.Invitation
	StatusLabel string
	Pending     bool
}

// inviteForm is the invite form's values.
type inviteForm struct {
	Email string
	Roles []roleOption
}

// roleOption is a role of the invite form, checked or not.
type roleOption struct {
	orgs.Role
	Checked bool
}

// inviteLifetime is how long an invitation made in the console can be
// accepted.
const inviteLifetime = 7 * 24 * time.Hour

// statusLabel is an invitation status in the page's language.
func (p *page) statusLabel(status string) string {
	switch status {
	case orgs.StatusPending:
		return p.cat.text(msg("invitations.pending"))
	case orgs.StatusAccepted:
		return p.cat.text(msg("invitations.accepted"))
	case orgs.StatusRevoked:
		return p.cat.text(msg("invitations.revoked"))
	case orgs.StatusExpired:
		return p.cat.text(msg("invitations.expired"))
	}
	return status
}

// organizationPage shows an organization: its members with their roles,
// and its invitations with their emails' delivery.
func (s *Server) organizationPage(p *page) error {
	return s.renderOrganization(p, p.view("organizations"), http.StatusOK, "", nil)
}

// renderOrganization renders the organization of the path into v with
// status; addMember and invite are the forms' values after a refusal.
func (s *Server) renderOrganization(p *page, v view, status int, addMember string, invite *inviteForm) error {
	ctx, id := p.r.Context(), p.r.PathValue("id")
	o, err := s.Orgs.Organization(ctx, p.tenant, id)
	if err != nil {
		return err
	}
	d := organizationData{Organization: o, AddMember: addMember, Pages: p.newPager()}
	members, total, err := s.Orgs.Members(ctx, p.tenant, id, "", "", orgs.Page{Page: d.Pages.N, PageSize: orgsPageSize})
	if err != nil {
		return err
	}
	d.MembersTotal = total
	d.Pages.links(orgPath(id), "", orgsPageSize, total)
	roles, _, err := s.Orgs.Roles(ctx, p.tenant, "", orgs.Page{Page: 1, PageSize: orgs.MaxPageSize})
	if err != nil {
		return err
	}
	for _, r := range roles {
		if r.Type == "User" {
			d.Roles = append(d.Roles, r)
		}
	}
	for _, m := range members {
		row := memberRow{Member: m}
		for _, r := range d.Roles {
			if !slices.ContainsFunc(m.Roles, func(h orgs.Role) bool { return h.ID == r.ID }) {
				row.Available = append(row.Available, r)
			}
		}
		d.Members = append(d.Members, row)
	}
	invitations, err := s.Orgs.Invitations(ctx, p.tenant, orgs.InvitationFilter{OrganizationID: id})
	if err != nil {
		return err
	}
	slices.Reverse(invitations)
	for _, inv := range invitations {
		d.Invitations = append(d.Invitations, invitationRow{Invitation: inv, StatusLabel: p.statusLabel(inv.Status), Pending: inv.Status == orgs.StatusPending})
	}
	if invite != nil {
		d.Invite.Email = invite.Email
	}
	for _, r := range d.Roles {
		checked := invite != nil && slices.ContainsFunc(invite.Roles, func(c roleOption) bool { return c.ID == r.ID })
		d.Invite.Roles = append(d.Invite.Roles, roleOption{Role: r, Checked: checked})
	}
	v.Data = d
	p.render(status, "organization", v)
	return nil
}

// addMember makes an existing user, named by email address or ID, a
// member of the organization.
func (s *Server) addMember(p *page) error {
	ctx, id := p.r.Context(), p.r.PathValue("id")
	who := strings.TrimSpace(p.r.PostForm.Get("user"))
	refuse := func(sentence string) error {
		return s.renderOrganization(p, p.refused(p.view("organizations"), "member-user", sentence, msg("organizations.fix")), http.StatusBadRequest, who, nil)
	}
	userID := who
	if strings.Contains(who, "@") {
		a, err := address.Parse(who)
		var ae *address.Error
		if errors.As(err, &ae) {
			return refuse(ae.Reason)
		} else if err != nil {
			return err
		}
		u, err := s.Users.FindByEmail(ctx, p.tenant, a)
		if errors.Is(err, identity.ErrUserNotFound) {
			return refuse(p.cat.text(msg("organizations.no_user_email")))
		} else if err != nil {
			return err
		}
		userID = u.ID
	}
	if userID == "" {
		return refuse(p.cat.text(msg("organizations.user_required")))
	}
	err := s.Orgs.AddMembers(ctx, p.tenant, id, []string{userID})
	var oe *orgs.Error
	if errors.As(err, &oe) && oe.Code == "entity.relation_foreign_key_not_found" {
		return refuse(p.cat.text(msg("organizations.no_user_id")))
	}
	if err != nil {
		if _, sentence, ok := orgError(err, nil); ok {
			return refuse(sentence)
		}
		return err
	}
	return p.redirect(orgPath(id) + "?notice=member_added#members")
}

// removeMember ends a membership and the roles it held.
func (s *Server) removeMember(p *page) error {
	id := p.r.PathValue("id")
	if err := s.Orgs.RemoveMember(p.r.Context(), p.tenant, id, p.r.PathValue("userId")); err != nil {
		return err
	}
	return p.redirect(orgPath(id) + "?notice=member_removed#members")
}

// giveRole gives a member the organization role of the form.
func (s *Server) giveRole(p *page) error {
	id := p.r.PathValue("id")
	roleID := p.r.PostForm.Get("roleId")
	if roleID == "" {
		p.errorPage(http.StatusBadRequest, msg("error.bad_form"))
		return nil
	}
	if _, err := s.Orgs.AssignRoles(p.r.Context(), p.tenant, id, p.r.PathValue("userId"), []string{roleID}, nil, false); err != nil {
		return err
	}
	return p.redirect(orgPath(id) + "?notice=role_given#members")
}

// takeRole takes an organization role from a member.
func (s *Server) takeRole(p *page) error {
	id := p.r.PathValue("id")
	if err := s.Orgs.RemoveRole(p.r.Context(), p.tenant, id, p.r.PathValue("userId"), p.r.PathValue("roleId")); err != nil {
		return err
	}
	return p.redirect(orgPath(id) + "?notice=role_taken#members")
}

// invite invites an address to the organization with the roles checked,
// and mails the invitation (a link to the hosted accept page).
func (s *Server) invite(p *page) error {
	id := p.r.PathValue("id")
	f := p.r.PostForm
	form := inviteForm{Email: strings.TrimSpace(f.Get("invitee"))}
	for _, r := range f["roleId"] {
		form.Roles = append(form.Roles, roleOption{Role: orgs.Role{ID: r}})
	}
	var roleIDs []string
	for _, r := range form.Roles {
		roleIDs = append(roleIDs, r.ID)
	}
	inv, err := s.Orgs.CreateInvitation(p.r.Context(), p.tenant, orgs.NewInvitation{Invitee: form.Email, OrganizationID: id,
		ExpiresAt: s.Now().Add(inviteLifetime), RoleIDs: roleIDs, Message: map[string]any{}})
	if errors.Is(err, delivery.ErrNoConnector) {
		return s.renderOrganization(p, p.refused(p.view("organizations"), "invite-email", p.cat.text(msg("invitations.no_connector")), msg("invitations.fix")),
			http.StatusConflict, "", &form)
	}
	if err != nil {
		_, sentence, ok := orgError(err, nil)
		if !ok {
			return err
		}
		return s.renderOrganization(p, p.refused(p.view("organizations"), "invite-email", sentence, msg("invitations.fix")), http.StatusBadRequest, "", &form)
	}
	notice := "invitation_sent"
	if inv.Message != nil && inv.Message.Status == store.StatusFailed {
		notice = "invitation_not_sent"
	}
	return p.redirect(orgPath(id) + "?notice=" + notice + "#invitations")
}

// invitationOf reads the invitation of the path, checking it is the
// organization's.
func (s *Server) invitationOf(p *page) (orgs.Invitation, error) {
	inv, err := s.Orgs.Invitation(p.r.Context(), p.tenant, p.r.PathValue("invitationId"))
	if err == nil && inv.OrganizationID != p.r.PathValue("id") {
		err = &orgs.NotFoundError{Entity: "organization_invitations", ID: inv.ID}
	}
	return inv, err
}

// resendInvitation mails a Pending invitation again, with a new link.
func (s *Server) resendInvitation(p *page) error {
	inv, err := s.invitationOf(p)
	if err != nil {
		return err
	}
	notice := "invitation_resent"
	err = s.Orgs.SendInvitation(p.r.Context(), p.tenant, inv.ID, nil, "")
	var se *delivery.SendError
	if errors.As(err, &se) {
		notice, err = "invitation_not_sent", nil
	}
	if err != nil {
		return err
	}
	return p.redirect(orgPath(inv.OrganizationID) + "?notice=" + notice + "#invitations")
}

// revokeInvitation revokes a Pending invitation: its link stops working.
func (s *Server) revokeInvitation(p *page) error {
	inv, err := s.invitationOf(p)
	if err != nil {
		return err
	}
	if _, err := s.Orgs.SetStatus(p.r.Context(), p.tenant, inv.ID, orgs.StatusRevoked, ""); err != nil {
		return err
	}
	return p.redirect(orgPath(inv.OrganizationID) + "?notice=invitation_revoked#invitations")
}
