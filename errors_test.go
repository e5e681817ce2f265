package oktasso

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

var errTestCause = errors.New("cause")

func TestErrors(t *testing.T) {
	tests := []struct {
		name   string
		err    error
		target error
		want   bool
	}{
		{"access_denied is ErrAccessDenied", &Error{Code: "access_denied"}, ErrAccessDenied, true},
		{"wrapped access_denied", fmt.Errorf("hook: %w", &Error{Code: "access_denied"}), ErrAccessDenied, true},
		{"other codes are not", &Error{Code: "invalid_scope"}, ErrAccessDenied, false},
		{"unavailable", &unavailableError{wait: time.Second, cause: errors.New("x")}, ErrProviderUnavailable, true},
		{"TokenError is ErrInvalidToken", fmt.Errorf("w: %w", &TokenError{Reason: "r"}), ErrInvalidToken, true},
		{"TokenError shows its cause", &TokenError{Reason: "r", Err: fmt.Errorf("x: %w", errTestCause)}, errTestCause, true},
		{"TokenError is not another sentinel", &TokenError{Reason: "r", Err: errTestCause}, ErrAccessDenied, false},
	}
	for _, tt := range tests {
		if got := errors.Is(tt.err, tt.target); got != tt.want {
			t.Errorf("%s: errors.Is = %v; want %v", tt.name, got, tt.want)
		}
	}
	if got := (&Error{Code: "access_denied", Description: "no"}).Error(); got != "oktasso: access_denied: no" {
		t.Errorf("Error() = %q", got)
	}
	if got := retryAfter(fmt.Errorf("w: %w", &unavailableError{wait: 7 * time.Second})); got != 7*time.Second {
		t.Errorf("retryAfter = %v; want 7s", got)
	}
}
