package oktasso

import (
	"context"
	"errors"
	"github.com/oktasso/oktasso/audit"
	"log/slog"
	"strings"

	"github.com/coreos/go-oidc/v3/oidc"
)

// reasonError attaches a reason code to an error.
type reasonError struct {
	reason audit.Reason
	err    error
}

func (e *reasonError) Error() string { return e.err.Error() }
func (e *reasonError) Unwrap() error { return e.err }

func withReason(reason audit.Reason, err error) error { return &reasonError{reason: reason, err: err} }

// reasonOf finds the reason code of an error: an attached one, or one
// derived from the sentinel errors and go-oidc's verification errors.
func reasonOf(err error) audit.Reason {
	var re *reasonError
	if errors.As(err, &re) {
		return re.reason
	}
	var expired *oidc.TokenExpiredError
	var te *tokenError
	var oe *Error
	switch {
	case err == nil:
		return audit.ReasonOK
	case errors.As(err, &expired):
		return audit.ReasonTokenExpired
	case errors.As(err, &te) && te.oauth.Code == "invalid_client":
		return audit.ReasonInvalidClient
	case errors.As(err, &te):
		return audit.ReasonCodeRejected
	case errors.Is(err, ErrProviderUnavailable):
		return audit.ReasonProviderUnavailable
	case errors.Is(err, errSessionTooLarge):
		return audit.ReasonCookieTooLarge
	case errors.As(err, &oe):
		return audit.ReasonRefusedByApp
	case errors.Is(err, ErrAccessDenied):
		return audit.ReasonRefusedByApp
	}
	// go-oidc's checks, by their messages (kept in one place).
	msg := err.Error()
	for _, m := range []struct {
		text   string
		reason audit.Reason
	}{
		{"issued by a different provider", audit.ReasonIssuerMismatch},
		{"expected audience", audit.ReasonAudienceMismatch},
		{"failed to verify signature", audit.ReasonSignatureInvalid},
		{"malformed jwt", audit.ReasonSignatureInvalid},
		{"before the nbf", audit.ReasonTokenTimeInvalid},
	} {
		if strings.Contains(msg, m.text) {
			return m.reason
		}
	}
	if errors.Is(err, ErrInvalidToken) {
		return audit.ReasonTokenInvalid
	}
	return audit.ReasonInternal
}

// audit emits one audit record.
func (a *Auth) audit(ctx context.Context, level slog.Level, ev audit.Event, err error) {
	emitEvent(ctx, a.cfg.Logger, a.cfg.Hooks.OnEvent, level, ev, err)
}

// emitEvent logs ev and hands it to onEvent, if set.
func emitEvent(ctx context.Context, logger *slog.Logger, onEvent func(audit.Event), level slog.Level, ev audit.Event, err error) {
	attrs := []slog.Attr{slog.String("event", ev.Name), slog.String("reason", string(ev.Reason))}
	if ev.Subject != "" {
		attrs = append(attrs, slog.String("subject", ev.Subject))
	}
	if ev.Path != "" {
		attrs = append(attrs, slog.String("path", ev.Path))
	}
	if ev.Requirement != "" {
		attrs = append(attrs, slog.String("requirement", ev.Requirement))
	}
	if err != nil {
		attrs = append(attrs, slog.String("err", err.Error()))
	}
	logger.LogAttrs(ctx, level, "oktasso: "+ev.Name, attrs...)
	if onEvent != nil {
		onEvent(ev)
	}
}
