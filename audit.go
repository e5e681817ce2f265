package oktasso

import (
	"context"
	"errors"
	"log/slog"
)

// Event is one audit record: every sign-in, sign-out, refusal and failure
// emits exactly one, as a log/slog record (message "oktasso: <Name>", with
// the attributes "event" and "reason") and, when set, through
// Config.OnEvent. It never holds a token or a secret.
type Event struct {
	Name    string // EventLogin, EventLoginFailed, …
	Reason  Reason // why: a stable code
	Subject string // the user, when known
	Path    string // the request path, for access refusals
	// Requirement is the policy requirement a refused user did not meet,
	// e.g. "membership in a required group", for access refusals.
	Requirement string
}

// Event names.
const (
	EventLogin              = "login"
	EventLoginFailed        = "login_failed"  // the sign-in did not complete (Reason says why)
	EventLoginRefused       = "login_refused" // completed at Okta, refused here or there (not assigned, policy, OnLogin)
	EventLogout             = "logout"
	EventLogoutRefused      = "logout_refused"
	EventAccessDenied       = "access_denied" // a signed-in user a scope does not admit
	EventRefresh            = "refresh"
	EventRefreshFailed      = "refresh_failed"
	EventBackchannelLogout  = "backchannel_logout"
	EventFrontchannelLogout = "frontchannel_logout"
	EventReauthenticated    = "reauthenticated" // a Purpose flow (MFA, enrollment) completed
)

// Reason is a stable code saying why an Event happened: alert and count on
// it. The values are the Reason… constants (and, for API routes, those of
// package bearer); new values may be added in minor releases.
type Reason string

// Reason codes.
const (
	ReasonOK                   Reason = "ok"
	ReasonCallbackMalformed    Reason = "callback_malformed"     // missing or oversized parameters
	ReasonStateMismatch        Reason = "state_mismatch"         // no sign-in pending in this browser for this state
	ReasonStateReplayed        Reason = "state_replayed"         // the callback was already used
	ReasonIssParameterMismatch Reason = "iss_parameter_mismatch" // RFC 9207 iss wrong, or missing though advertised
	ReasonNotAssigned          Reason = "not_assigned"           // Okta: user not assigned to the app
	ReasonProviderError        Reason = "provider_error"         // another error from the authorization endpoint
	ReasonInvalidClient        Reason = "invalid_client"         // wrong client ID or secret
	ReasonCodeRejected         Reason = "code_rejected"          // invalid_grant: expired, reused, PKCE failed
	ReasonProviderUnavailable  Reason = "provider_unavailable"
	ReasonIssuerMismatch       Reason = "issuer_mismatch"
	ReasonAudienceMismatch     Reason = "audience_mismatch"
	ReasonAZPMismatch          Reason = "azp_mismatch"
	ReasonSignatureInvalid     Reason = "signature_invalid"
	ReasonTokenExpired         Reason = "token_expired"
	ReasonTokenTimeInvalid     Reason = "token_time_invalid" // iat or nbf
	ReasonNonceMismatch        Reason = "nonce_mismatch"
	ReasonAtHashMismatch       Reason = "at_hash_mismatch"
	ReasonAuthTooOld           Reason = "auth_too_old" // auth_time missing or older than max_age
	ReasonSubjectMismatch      Reason = "subject_mismatch"
	ReasonTokenInvalid         Reason = "token_invalid"
	ReasonEmailDomain          Reason = "email_domain_not_allowed"
	ReasonRefusedByApp         Reason = "refused_by_app" // Config.OnLogin refused
	ReasonCookieTooLarge       Reason = "cookie_too_large"
	ReasonCrossSite            Reason = "cross_site"
	ReasonNotMember            Reason = "not_member"
	ReasonNotAllowed           Reason = "not_allowed"
	ReasonRefreshRefused       Reason = "refresh_refused"
	ReasonLogoutTokenInvalid   Reason = "logout_token_invalid"
	ReasonInternal             Reason = "internal_error"
	// ReasonStepUpFailed: a step-up or purpose sign-in came back without
	// the acr or amr it asked for.
	ReasonStepUpFailed Reason = "step_up_failed"
	// ReasonSilentLoginFailed: a silent sign-in (prompt=none) found no Okta
	// session; the browser was sent on quietly.
	ReasonSilentLoginFailed Reason = "silent_login_failed"
	// ReasonMembershipUnavailable: Config.IsMember or Config.GroupsSource
	// failed, so membership could not be decided.
	ReasonMembershipUnavailable Reason = "membership_unavailable"
)

// reasonError attaches a reason code to an error.
type reasonError struct {
	reason Reason
	err    error
}

func (e *reasonError) Error() string { return e.err.Error() }
func (e *reasonError) Unwrap() error { return e.err }

func withReason(reason Reason, err error) error { return &reasonError{reason: reason, err: err} }

// reasonOf finds the reason code of an error: an attached one, a
// TokenError's, or one derived from the sentinel errors.
func reasonOf(err error) Reason {
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
		return ReasonOK
	case errors.As(err, &te) && te.oauth.Code == "invalid_client":
		return ReasonInvalidClient
	case errors.As(err, &te):
		return ReasonCodeRejected
	case errors.Is(err, ErrProviderUnavailable):
		return ReasonProviderUnavailable
	case errors.Is(err, errSessionTooLarge):
		return ReasonCookieTooLarge
	case errors.As(err, &oe):
		return ReasonRefusedByApp
	case errors.Is(err, ErrAccessDenied):
		return ReasonRefusedByApp
	case errors.Is(err, ErrInvalidToken):
		return ReasonTokenInvalid
	}
	return ReasonInternal
}

// audit emits one audit record.
func (a *Auth) audit(ctx context.Context, level slog.Level, ev Event, err error) {
	emitEvent(ctx, a.cfg.Logger, a.cfg.OnEvent, level, ev, err)
}

// LogValue makes an Event log as its attributes: "event", "reason", and
// "subject", "path" and "requirement" when set. Under an empty key, as in
// slog.Any("", ev), they are inlined, as in oktasso's own records.
func (e Event) LogValue() slog.Value {
	attrs := make([]slog.Attr, 0, 5)
	attrs = append(attrs, slog.String("event", e.Name), slog.String("reason", string(e.Reason)))
	if e.Subject != "" {
		attrs = append(attrs, slog.String("subject", e.Subject))
	}
	if e.Path != "" {
		attrs = append(attrs, slog.String("path", e.Path))
	}
	if e.Requirement != "" {
		attrs = append(attrs, slog.String("requirement", e.Requirement))
	}
	return slog.GroupValue(attrs...)
}

// emitEvent logs ev and hands it to onEvent, if set.
func emitEvent(ctx context.Context, logger *slog.Logger, onEvent func(Event), level slog.Level, ev Event, err error) {
	if err != nil {
		logger.LogAttrs(ctx, level, "oktasso: "+ev.Name, slog.Any("", ev), slog.String("err", err.Error()))
	} else {
		logger.LogAttrs(ctx, level, "oktasso: "+ev.Name, slog.Any("", ev))
	}
	if onEvent != nil {
		onEvent(ev)
	}
}
