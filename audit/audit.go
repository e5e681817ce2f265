// Package audit names what oktasso's audit records say: the Event that
// every sign-in, sign-out, refusal and failure emits (as a log/slog record
// and through the application's OnEvent hook), its event names, and the
// stable Reason codes to alert and count on.
package audit

import "log/slog"

// Event is one audit record: every sign-in, sign-out, refusal and failure
// emits exactly one, as a log/slog record (message "oktasso: <Name>", with
// the attributes "event" and "reason") and, when set, through
// Config.Hooks.OnEvent. It never holds a token or a secret.
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
	// EventEnrolled: Okta sent back an authenticator enrollment
	// (oktasso.EnrollAuthenticator) without an error. Okta returns no
	// token with it: Subject is the signed-in user who started it, and
	// the event is no proof that an authenticator was enrolled.
	EventEnrolled = "enrolled"
	// EventTokenRefused: package bearer refused a request to an API
	// route; Reason says why (ReasonTokenMissing, ReasonTokenExpired,
	// ReasonInsufficientScope, …).
	EventTokenRefused = "token_refused"
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
	ReasonRefusedByApp         Reason = "refused_by_app" // Config.Hooks.OnLogin refused
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
	// ReasonMembershipUnavailable: Access.Workspace or Access.GroupsSource
	// failed, so membership could not be decided.
	ReasonMembershipUnavailable Reason = "membership_unavailable"
	// ReasonUserInfoUnavailable: the userinfo endpoint could not be read
	// after a good code exchange (an error status, a timeout, an answer
	// that is not claims). On a login event (logged as a warning) the
	// sign-in completed on the ID token's claims; on login_failed,
	// Access.RequireUserInfo made it fail.
	ReasonUserInfoUnavailable Reason = "userinfo_unavailable"
	// ReasonUnmetRequirements: the provider answered
	// unmet_authentication_requirements: the user could not sign in as
	// strongly as acr_values (a step-up, a purpose) asked, e.g. with no
	// phishing-resistant authenticator enrolled for "phr".
	ReasonUnmetRequirements Reason = "unmet_authentication_requirements"
	// ReasonInteractionRequired: a sign-in that asked the provider not to
	// show a page (prompt=none, outside the guards' silent attempt) got
	// login_required, interaction_required, consent_required or
	// account_selection_required.
	ReasonInteractionRequired Reason = "interaction_required"
	// ReasonGroupsTruncated: the groups claim had 100 or more entries,
	// Okta's cap, so it may lack some of the user's groups, and no
	// Access.GroupsSource is set to read them all. On a login event
	// (logged as a warning) the sign-in completed with the claim's groups.
	ReasonGroupsTruncated Reason = "groups_truncated"
)

// Event names of ending a user's sessions.
const (
	EventUniversalLogout = "universal_logout" // a Universal Logout (Global Token Revocation) request, answered
	EventSessionsEnded   = "sessions_ended"   // Auth.EndSessions ended a user's sessions
)

// Reason codes of Universal Logout, besides the token ones, ReasonOK,
// ReasonTokenMissing, ReasonRequestMalformed, ReasonIssuerMismatch and
// ReasonProviderUnavailable.
const (
	ReasonTokenReplayed    Reason = "token_replayed"    // a jti seen before within its lifetime
	ReasonUserUnknown      Reason = "user_unknown"      // Hooks.UserExists says the application does not know the user
	ReasonStoreUnavailable Reason = "store_unavailable" // the store failed: nothing was revoked (422)
	ReasonEmailNotKept     Reason = "email_not_kept"    // an email-format request, but sessions carry no email (no email scope): nothing was revoked (422)
)

// Reason codes of package bearer's access-token guard, besides ReasonIssuerMismatch, ReasonAudienceMismatch,
// ReasonSignatureInvalid, ReasonTokenExpired, ReasonTokenTimeInvalid and
// ReasonTokenInvalid.
const (
	ReasonTokenMissing      Reason = "token_missing"        // no Authorization: Bearer header
	ReasonRequestMalformed  Reason = "request_malformed"    // several or malformed Authorization headers
	ReasonClientNotAllowed  Reason = "client_not_allowed"   // cid not in the guard's ClientIDs
	ReasonOrgServerToken    Reason = "org_server_token"     // a token of the org authorization server
	ReasonTokenInactive     Reason = "token_inactive"       // introspection: expired, revoked or unknown
	ReasonInsufficientScope Reason = "insufficient_scope"   // a scope Require asks for is missing
	ReasonOpaqueToken       Reason = "opaque_token_refused" // not a JWT, and introspection is off
)

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
