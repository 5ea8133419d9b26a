package connector

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"
)

// Error classes. Every error a connector returns matches exactly one of them
// with errors.Is (context errors excepted).
var (
	// ErrInvalidConfig means the config cannot work; fix it and save again.
	ErrInvalidConfig = errors.New("invalid config")
	// ErrAuth means the provider rejected the credentials. Permanent.
	ErrAuth = errors.New("authentication rejected")
	// ErrRejected means the provider refused this message or recipient. Permanent.
	ErrRejected = errors.New("message rejected")
	// ErrRateLimited means the provider asked us to slow down. Retried,
	// after RetryAfter when the provider said how long.
	ErrRateLimited = errors.New("rate limited")
	// ErrTemporary means a timeout, a connection error, a 5xx or an SMTP
	// 4xx. Retried.
	ErrTemporary = errors.New("temporary failure")
)

// Error is a classified send failure with what the provider said.
type Error struct {
	// Kind is one of the class sentinels.
	Kind error
	// Status is the HTTP status or SMTP reply code, when there was one.
	Status int
	// Code is the provider's own error code, when it gave one.
	Code string
	// Message is the provider's message, bounded and free of secrets.
	Message string
	// RetryAfter is how long the provider asked us to wait, if it said.
	RetryAfter time.Duration
	// Err is the underlying error, if any.
	Err error
}

// Error describes the failure in one line.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Kind.Error())
	if e.Status != 0 {
		fmt.Fprintf(&b, " (status %d)", e.Status)
	}
	if e.Code != "" {
		fmt.Fprintf(&b, " [%s]", e.Code)
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	} else if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Is matches the error's class.
func (e *Error) Is(target error) bool { return target == e.Kind }

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// ConfigError is an invalid config, naming the field at fault.
type ConfigError struct {
	// Field is the dotted path of the field, such as "auth.pass"; empty
	// when the config as a whole is wrong.
	Field string
	// Reason says what is wrong and how to fix it.
	Reason string
}

// Error names the field and the reason.
func (e *ConfigError) Error() string {
	if e.Field == "" {
		return "invalid config: " + e.Reason
	}
	return fmt.Sprintf("invalid config: %s: %s", e.Field, e.Reason)
}

// Is matches ErrInvalidConfig.
func (e *ConfigError) Is(target error) bool { return target == ErrInvalidConfig }

// InvalidConfig returns a ConfigError for field.
func InvalidConfig(field, format string, args ...any) error {
	return &ConfigError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// Permanent reports whether err must not be retried: it is neither a
// temporary failure, a rate limit, nor a timeout.
func Permanent(err error) bool {
	return err != nil && !Temporary(err)
}

// Temporary reports whether err is worth retrying.
func Temporary(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, ErrTemporary) || errors.Is(err, ErrRateLimited) || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	if errors.Is(err, ErrInvalidConfig) || errors.Is(err, ErrAuth) || errors.Is(err, ErrRejected) {
		return false
	}
	var ne net.Error
	return errors.As(err, &ne)
}

// RetryAfter returns the delay the provider asked for, or zero.
func RetryAfter(err error) time.Duration {
	var e *Error
	if errors.As(err, &e) {
		return e.RetryAfter
	}
	return 0
}

// NetworkError classifies a transport error: context cancellation is
// returned as is, a connection the host's outbound policy refused (an
// error matching ErrInvalidConfig) is an invalid config, and everything
// else (timeouts, refused connections, resets) is temporary.
func NetworkError(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) {
		return err
	}
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	if errors.Is(err, ErrInvalidConfig) {
		// The refusal says what and why; the layers around it (the URL,
		// the dial) would only repeat the address.
		return &Error{Kind: ErrInvalidConfig, Message: innermost(err, ErrInvalidConfig).Error(), Err: err}
	}
	return &Error{Kind: ErrTemporary, Err: err}
}

// innermost returns the deepest error of err's Unwrap chain that matches
// target.
func innermost(err, target error) error {
	found := err
	for e := errors.Unwrap(err); e != nil; e = errors.Unwrap(e) {
		if errors.Is(e, target) {
			found = e
		}
	}
	return found
}
