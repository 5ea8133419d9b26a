package connector

// UsageType is what a message is for. The values are Logto's TemplateType
// names, so receivers written for Logto work unchanged.
type UsageType string

// The usage types.
const (
	UsageSignIn                   UsageType = "SignIn"
	UsageRegister                 UsageType = "Register"
	UsageForgotPassword           UsageType = "ForgotPassword"
	UsageOrganizationInvitation   UsageType = "OrganizationInvitation"
	UsageGeneric                  UsageType = "Generic"
	UsageUserPermissionValidation UsageType = "UserPermissionValidation"
	UsageBindNewIdentifier        UsageType = "BindNewIdentifier"
	UsageMfaVerification          UsageType = "MfaVerification"
	UsageBindMfa                  UsageType = "BindMfa"
)

// UsageTypes returns every usage type, in a stable order.
func UsageTypes() []UsageType {
	return []UsageType{UsageSignIn, UsageRegister, UsageForgotPassword, UsageOrganizationInvitation, UsageGeneric,
		UsageUserPermissionValidation, UsageBindNewIdentifier, UsageMfaVerification, UsageBindMfa}
}

// Valid reports whether u is one of the usage types.
func (u UsageType) Valid() bool {
	for _, v := range UsageTypes() {
		if u == v {
			return true
		}
	}
	return false
}
