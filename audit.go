package oktasso

import (
	"context"
	"errors"
	"github.com/oktasso/oktasso/audit"
	"log/slog"
)

// reasonError attaches a reason code to an error.
type reasonError struct {
	reason audit.Reason
	err    error
}

func (e *reasonError) Error() string { return e.err.Error() }
func (e *reasonError) Unwrap() error { return e.err }

func withReason(reason audit.Reason, err error) error { return &reasonError{reason: reason, err: err} }

// reasonOf finds the reason code of an error: an attached one, a
// TokenError's, or one derived from the sentinel errors.
func reasonOf(err error) audit.Reason {
	var re *reasonError
	if errors.As(err, &re) {
		return re.reason
	}
	if te, ok := errors.AsType[*TokenError](err); ok {
		return te.Reason
	}
	var te *tokenEndpointError
	var oe *Error
	switch {
	case err == nil:
		return audit.ReasonOK
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
	case errors.Is(err, ErrInvalidToken):
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
	if err != nil {
		logger.LogAttrs(ctx, level, "oktasso: "+ev.Name, slog.Any("", ev), slog.String("err", err.Error()))
	} else {
		logger.LogAttrs(ctx, level, "oktasso: "+ev.Name, slog.Any("", ev))
	}
	if onEvent != nil {
		onEvent(ev)
	}
}
