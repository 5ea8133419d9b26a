package account

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"strings"

	"github.com/authmail/authmail/internal/experience"
	"github.com/authmail/authmail/internal/store"
)

// Control is how far the account API lets a user at a field, Logto's
// AccountCenterControlValue.
type Control string

// The controls; a field not set is Off.
const (
	ControlOff      Control = "Off"
	ControlReadOnly Control = "ReadOnly"
	ControlEdit     Control = "Edit"
)

// Controls lists the controls, for enums.
func Controls() []Control { return []Control{ControlOff, ControlReadOnly, ControlEdit} }

// Fields are the account center's per-field controls, Logto's names.
// DeleteAccount is authmail's: whether a user may delete their own account
// (DELETE /api/my-account), Edit to allow it.
type Fields struct {
	Name          Control `json:"name,omitempty"`
	Avatar        Control `json:"avatar,omitempty"`
	Profile       Control `json:"profile,omitempty"`
	Email         Control `json:"email,omitempty"`
	Phone         Control `json:"phone,omitempty"`
	Password      Control `json:"password,omitempty"`
	Username      Control `json:"username,omitempty"`
	Social        Control `json:"social,omitempty"`
	CustomData    Control `json:"customData,omitempty"`
	Mfa           Control `json:"mfa,omitempty"`
	Passkey       Control `json:"passkey,omitempty"`
	Session       Control `json:"session,omitempty"`
	TrustedDevice Control `json:"trustedDevice,omitempty"`
	DeleteAccount Control `json:"deleteAccount,omitempty"`
}

// The field names routes check, as Fields's JSON names.
const (
	FieldName          = "name"
	FieldAvatar        = "avatar"
	FieldProfile       = "profile"
	FieldEmail         = "email"
	FieldPassword      = "password"
	FieldUsername      = "username"
	FieldCustomData    = "customData"
	FieldMfa           = "mfa"
	FieldDeleteAccount = "deleteAccount"
)

// control is the control of a field by its JSON name; unset is Off.
func (f Fields) control(name string) Control {
	v := reflect.ValueOf(f)
	for i := range v.NumField() {
		tag, _, _ := strings.Cut(v.Type().Field(i).Tag.Get("json"), ",")
		if tag == name {
			if c := Control(v.Field(i).String()); c != "" {
				return c
			}
			return ControlOff
		}
	}
	return ControlOff
}

// check refuses a field below want (see Allowed); "" passes.
func (f Fields) check(field string, want Control) error {
	if field == "" {
		return nil
	}
	got := f.control(field)
	switch {
	case want == ControlEdit && got != ControlEdit:
		return ErrFieldNotEditable
	case want == ControlReadOnly && got == ControlOff:
		return ErrForbidden
	}
	return nil
}

// validate refuses a control that is not one.
func (f Fields) validate() error {
	v := reflect.ValueOf(f)
	for i := range v.NumField() {
		c := Control(v.Field(i).String())
		if c != "" && c != ControlOff && c != ControlReadOnly && c != ControlEdit {
			tag, _, _ := strings.Cut(v.Type().Field(i).Tag.Get("json"), ",")
			return invalidInput("fields."+tag, "must be Off, ReadOnly or Edit")
		}
	}
	return nil
}

// Center is the account center settings, Logto's AccountCenter: whether
// the account API is on and what each field allows. The default is off
// with every field Off, as Logto seeds a tenant.
type Center struct {
	// ID is Logto's row ID, always "default".
	ID      string `json:"id"`
	Enabled bool   `json:"enabled"`
	Fields  Fields `json:"fields"`
	// WebauthnRelatedOrigins is kept for Logto's clients; authmail has no
	// passkeys.
	WebauthnRelatedOrigins []string `json:"webauthnRelatedOrigins"`
}

// CenterPatch is a change to the account center (PATCH
// /api/account-center): a member left out is kept; fields, when given,
// replaces the controls whole, as Logto's.
type CenterPatch struct {
	Enabled                *bool    `json:"enabled,omitempty"`
	Fields                 *Fields  `json:"fields,omitempty"`
	WebauthnRelatedOrigins []string `json:"webauthnRelatedOrigins,omitempty"`
}

// settingCenter names the account center in the settings table.
const settingCenter = "account_center"

// Center reads the tenant's account center settings.
func (s *Service) Center(ctx context.Context, tenant string) (Center, error) {
	return readCenter(s.d.Store.SettingGet(ctx, tenant, settingCenter))
}

func readCenter(raw string, err error) (Center, error) {
	c := Center{ID: "default", WebauthnRelatedOrigins: []string{}}
	if errors.Is(err, store.ErrNotFound) {
		return c, nil
	}
	if err != nil {
		return Center{}, err
	}
	if err := json.Unmarshal([]byte(raw), &c); err != nil {
		return Center{}, fmt.Errorf("the stored account center settings: %w", err)
	}
	if c.WebauthnRelatedOrigins == nil {
		c.WebauthnRelatedOrigins = []string{}
	}
	return c, nil
}

// PatchCenter changes the tenant's account center settings in one
// transaction and returns them.
func (s *Service) PatchCenter(ctx context.Context, tenant string, p CenterPatch) (Center, error) {
	if p.Fields != nil {
		if err := p.Fields.validate(); err != nil {
			return Center{}, err
		}
	}
	for i, o := range p.WebauthnRelatedOrigins {
		if u, err := url.Parse(o); err != nil || u.Scheme == "" || u.Host == "" {
			return Center{}, invalidInput(fmt.Sprintf("webauthnRelatedOrigins[%d]", i), "must be an origin such as https://example.com")
		}
	}
	var out Center
	err := s.d.Store.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.LockKey(ctx, "account_center:"+tenant); err != nil {
			return err
		}
		c, err := readCenter(tx.SettingGet(ctx, tenant, settingCenter))
		if err != nil {
			return err
		}
		if p.Enabled != nil {
			c.Enabled = *p.Enabled
		}
		if p.Fields != nil {
			c.Fields = *p.Fields
		}
		if p.WebauthnRelatedOrigins != nil {
			c.WebauthnRelatedOrigins = p.WebauthnRelatedOrigins
		}
		raw, err := json.Marshal(c)
		if err != nil {
			return err
		}
		out = c
		return tx.SettingPut(ctx, tenant, settingCenter, string(raw), s.d.Now())
	})
	return out, err
}

// invalidInput is a 400 guard.invalid_input naming the field.
func invalidInput(field, message string) *experience.Error {
	return &experience.Error{Status: http.StatusBadRequest, Code: "guard.invalid_input", Message: field + ": " + message,
		Data: map[string]string{"field": field}}
}
