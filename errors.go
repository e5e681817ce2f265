package oktasso

import (
	"errors"
	"fmt"
	"github.com/oktasso/oktasso/audit"
	"time"
)

// Sentinel errors. Compare with errors.Is.
var (
	// ErrProviderUnavailable means the identity provider could not be
	// reached or its discovery document was unusable; guarded routes answer
	// 503 with Retry-After until it recovers. The errors oktasso returns
	// that match it have a method RetryAfter() time.Duration telling when
	// discovery is tried again; find it with errors.As and an interface.
	ErrProviderUnavailable = errors.New("oktasso: identity provider unavailable")
	// ErrAccessDenied means the user signed in but may not enter.
	ErrAccessDenied = errors.New("oktasso: access denied")
	// ErrInvalidCallback means the sign-in response was not one this app
	// started, was replayed, or was malformed.
	ErrInvalidCallback = errors.New("oktasso: invalid sign-in response")
	// ErrInvalidToken means a token failed verification.
	ErrInvalidToken = errors.New("oktasso: invalid token")
)

// Error is an OAuth 2.0 / OpenID Connect error, from the provider (the error
// and error_description of an authorization or token response) or from
// Config.Hooks.OnLogin refusing a sign-in. Description is shown to the user,
// escaped; keep it free of secrets.
type Error struct {
	Code        string // e.g. "access_denied", "invalid_grant"
	Description string // human-readable, may be empty
}

func (e *Error) Error() string {
	if e.Description == "" {
		return "oktasso: " + e.Code
	}
	return fmt.Sprintf("oktasso: %s: %s", e.Code, e.Description)
}

// Is makes an access_denied Error match ErrAccessDenied.
func (e *Error) Is(target error) bool {
	return target == ErrAccessDenied && e.Code == "access_denied"
}

// TokenError is a token that failed verification: an ID token at sign-in
// or refresh, a back-channel logout token, an access token on an API
// route. Every refusal of a token is one, so callers tell them apart with
// errors.As; it also matches ErrInvalidToken. Err says what was wrong and
// never holds the token.
type TokenError struct {
	Reason audit.Reason // why, as in the audit Event: audit.ReasonSignatureInvalid, audit.ReasonTokenExpired, …
	Err    error
}

func (e *TokenError) Error() string {
	if e.Err == nil {
		return "oktasso: invalid token: " + string(e.Reason)
	}
	return "oktasso: invalid token: " + e.Err.Error()
}

// Unwrap returns ErrInvalidToken and Err, so that every TokenError
// matches ErrInvalidToken and errors.Is and errors.As see what Err wraps.
func (e *TokenError) Unwrap() []error {
	if e.Err == nil {
		return []error{ErrInvalidToken}
	}
	return []error{ErrInvalidToken, e.Err}
}

// tokenErrorf returns a TokenError with reason and a message made like
// fmt.Errorf's.
func tokenErrorf(reason audit.Reason, format string, args ...any) *TokenError {
	return &TokenError{Reason: reason, Err: fmt.Errorf(format, args...)}
}

// unavailableError carries when to try again.
type unavailableError struct {
	wait  time.Duration
	cause error
}

func (e *unavailableError) Error() string {
	return fmt.Sprintf("oktasso: identity provider unavailable (retry in %v): %v", e.wait.Round(time.Second), e.cause)
}

// RetryAfter is how long until the provider is tried again.
func (e *unavailableError) RetryAfter() time.Duration { return e.wait }

func (e *unavailableError) Unwrap() []error { return []error{ErrProviderUnavailable, e.cause} }
