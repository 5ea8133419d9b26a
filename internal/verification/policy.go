package verification

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Policy is a tenant's code policy as it is in force: every field holds
// the value that applies, none means "default". DefaultPolicy is the
// policy of a tenant that never changed it.
//
// Each field declares its default and its range once, in its `policy` tag
// ("default=D,min=A,max=B"): DefaultPolicy, Validate and PolicyFields are
// derived from the tags, and the tenant settings store only the fields set
// explicitly, so a field added here is defaulted, range-checked, reset by
// null and shown in the effective settings with no other change.
type Policy struct {
	// Length is the number of digits of a code.
	Length int `json:"length" policy:"default=6,min=4,max=10"`
	// ExpirationDuration is how long a code lives, in seconds, as Logto's
	// verificationCodePolicy.expirationDuration.
	ExpirationDuration int `json:"expirationDuration" policy:"default=600,min=60,max=3600"`
	// MaxRetryAttempts is how many wrong tries kill a code, as Logto's
	// verificationCodePolicy.maxRetryAttempts.
	MaxRetryAttempts int `json:"maxRetryAttempts" policy:"default=10,min=1,max=100"`
	// ResendCooldown is the least time, in seconds, between two codes to one
	// recipient for one usage type; 0 turns the cooldown off.
	ResendCooldown int `json:"resendCooldown" policy:"default=60,min=0,max=600"`
	// SendLimit is how many codes one mailbox may be sent per SendWindow; a
	// sub-address counts toward its base address (alice+1@ and alice+2@
	// are alice@).
	SendLimit int `json:"sendLimit" policy:"default=10,min=1,max=1000"`
	// SendWindow is the window of SendLimit, in seconds.
	SendWindow int `json:"sendWindow" policy:"default=600,min=60,max=86400"`
	// DomainSendLimit is how many codes the addresses of one recipient
	// domain may be sent in an hour; 0 turns the cap off.
	DomainSendLimit int `json:"domainSendLimit" policy:"default=1000,min=0,max=1000000"`
	// IPSendLimit is how many codes one end user's client may ask for in an
	// hour, an IPv6 client counted by its /64; 0 turns the cap off.
	// Requests made with the admin key are not counted by IP.
	IPSendLimit int `json:"ipSendLimit" policy:"default=100,min=0,max=1000000"`
	// TenantSendLimit is how many codes the tenant may send in an hour; 0
	// turns the cap off.
	TenantSendLimit int `json:"tenantSendLimit" policy:"default=10000,min=0,max=10000000"`
	// LockoutFailures wrong codes for an address from one client within an
	// hour lock that client out of the address for
	// Sentinel.LockoutDuration minutes.
	LockoutFailures int `json:"lockoutFailures" policy:"default=100,min=1,max=10000"`

	// Sentinel is the address-wide lockout, the sign-in experience's
	// sentinelPolicy: it is set from there, not part of this policy's JSON.
	Sentinel SentinelPolicy `json:"-"`
}

// SentinelPolicy is Logto's sentinelPolicy: MaxAttempts wrong codes for
// an address from all clients within an hour lock the address for every
// client for LockoutDuration minutes; the per-client lockout
// (Policy.LockoutFailures) lasts as long. Fields are declared the way
// Policy's are (SentinelPolicyFields).
type SentinelPolicy struct {
	// MaxAttempts is the address-wide lockout threshold.
	MaxAttempts int `json:"maxAttempts" policy:"default=1000,min=1,max=100000"`
	// LockoutDuration is how long a lockout lasts, in minutes.
	LockoutDuration int `json:"lockoutDuration" policy:"default=60,min=1,max=1440"`
}

// PolicyField describes one field of Policy, as its tags declare it.
type PolicyField struct {
	// Name is the field's JSON name, such as "resendCooldown".
	Name string
	// Default is the value of a field that was never set.
	Default int
	// Min and Max bound the values Validate accepts, both included.
	Min, Max int

	index int // the field's index in Policy
}

// policyFields and sentinelFields are computed once from the tags of
// Policy and SentinelPolicy and never changed.
var (
	policyFields   = mustPolicyFields(reflect.TypeFor[Policy]())
	sentinelFields = mustPolicyFields(reflect.TypeFor[SentinelPolicy]())
)

// PolicyFields returns the fields of Policy in declaration order.
func PolicyFields() []PolicyField { return slices.Clone(policyFields) }

// SentinelPolicyFields returns the fields of SentinelPolicy in
// declaration order.
func SentinelPolicyFields() []PolicyField { return slices.Clone(sentinelFields) }

// mustPolicyFields reads the tags of t's fields, skipping those JSON
// leaves out. It panics on a field without a well-formed tag, so a
// mistake stops every test run, not a send.
func mustPolicyFields(t reflect.Type) []PolicyField {
	out := make([]PolicyField, 0, t.NumField())
	for i := range t.NumField() {
		sf := t.Field(i)
		if sf.Tag.Get("json") == "-" {
			continue
		}
		f, err := parsePolicyTag(sf)
		if err != nil {
			panic(fmt.Sprintf("verification.%s.%s: %v", t.Name(), sf.Name, err))
		}
		f.index = i
		out = append(out, f)
	}
	return out
}

func parsePolicyTag(sf reflect.StructField) (PolicyField, error) {
	if sf.Type.Kind() != reflect.Int {
		return PolicyField{}, fmt.Errorf("is a %s; policy fields are ints", sf.Type)
	}
	name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
	if name == "" || name == "-" {
		return PolicyField{}, fmt.Errorf("has no JSON name")
	}
	f := PolicyField{Name: name}
	seen := map[string]bool{}
	for part := range strings.SplitSeq(sf.Tag.Get("policy"), ",") {
		key, val, _ := strings.Cut(part, "=")
		n, err := strconv.Atoi(val)
		if err != nil {
			return PolicyField{}, fmt.Errorf("policy tag %q: %q is not a number", sf.Tag.Get("policy"), part)
		}
		switch key {
		case "default":
			f.Default = n
		case "min":
			f.Min = n
		case "max":
			f.Max = n
		default:
			return PolicyField{}, fmt.Errorf("policy tag %q: unknown key %q", sf.Tag.Get("policy"), key)
		}
		seen[key] = true
	}
	if !seen["default"] || !seen["min"] || !seen["max"] {
		return PolicyField{}, fmt.Errorf("policy tag %q needs default, min and max", sf.Tag.Get("policy"))
	}
	if f.Min > f.Max || f.Default < f.Min || f.Default > f.Max {
		return PolicyField{}, fmt.Errorf("policy tag %q: the default is not within min and max", sf.Tag.Get("policy"))
	}
	return f, nil
}

// DefaultPolicy is the policy of a tenant that never changed it, with
// the default sentinel policy.
func DefaultPolicy() Policy {
	var p Policy
	setDefaults(reflect.ValueOf(&p).Elem(), policyFields)
	p.Sentinel = DefaultSentinelPolicy()
	return p
}

// DefaultSentinelPolicy is the sentinel policy of a tenant that never
// changed it: the address-wide lockout after 1000 wrong codes in an hour
// (Logto's default is 100, but Logto has no per-client lockout; here the
// client reaches its own lockout, after 100, long before it can lock the
// owner out), for 60 minutes as Logto.
func DefaultSentinelPolicy() SentinelPolicy {
	var p SentinelPolicy
	setDefaults(reflect.ValueOf(&p).Elem(), sentinelFields)
	return p
}

func setDefaults(v reflect.Value, fields []PolicyField) {
	for _, f := range fields {
		v.Field(f.index).SetInt(int64(f.Default))
	}
}

// PolicyError is a policy field outside its range.
type PolicyError struct {
	// Field is the JSON name of the field, such as "resendCooldown".
	Field string
	// Value is the value refused; Min and Max are the range.
	Value, Min, Max int
}

// Error names the field, its value and its range.
func (e *PolicyError) Error() string {
	return fmt.Sprintf("%s must be between %d and %d, not %d", e.Field, e.Min, e.Max, e.Value)
}

// Reason is the error without the field's name.
func (e *PolicyError) Reason() string {
	return fmt.Sprintf("must be between %d and %d, not %d", e.Min, e.Max, e.Value)
}

// Validate checks every field against its range, returning a
// *PolicyError for the first one outside it. The sentinel policy is
// checked on its own (SentinelPolicy.Validate).
func (p Policy) Validate() error { return validateFields(reflect.ValueOf(p), policyFields) }

// Validate checks every field against its range, returning a
// *PolicyError for the first one outside it.
func (p SentinelPolicy) Validate() error { return validateFields(reflect.ValueOf(p), sentinelFields) }

func validateFields(v reflect.Value, fields []PolicyField) error {
	for _, f := range fields {
		if n := int(v.Field(f.index).Int()); n < f.Min || n > f.Max {
			return &PolicyError{Field: f.Name, Value: n, Min: f.Min, Max: f.Max}
		}
	}
	return nil
}

// TTL is the code lifetime.
func (p Policy) TTL() time.Duration {
	return time.Duration(p.ExpirationDuration) * time.Second
}
