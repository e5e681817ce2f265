package oktatest

import (
	"slices"
	"strings"
)

// Step-up and enrollment: acr_values, the user's authenticators and
// prompt=enroll_authenticator, as Okta Identity Engine handles them.

// acrSupported are the acr_values the fake honours, Okta's names; others
// are ignored. The "2fa" ones, "phr" and "phrh" make the sign-in ask for a
// second factor (see [VerificationCode]).
var acrSupported = []string{
	"phr",
	"phrh",
	"urn:okta:loa:1fa:any",
	"urn:okta:loa:1fa:pwd",
	"urn:okta:loa:2fa:any",
	"urn:okta:loa:2fa:any:ifpossible",
}

// defaultAuthenticators are the authenticators of a user whose
// Authenticators field is nil: a password and email codes.
var defaultAuthenticators = []string{"okta_password", "okta_email"}

// amr claims of the fake's sign-ins: password only, password and a second
// factor, and a second factor that is phishing-resistant ("pop": a passkey)
// or phishing-resistant and hardware-protected ("hwk": Okta Verify
// FastPass).
var (
	amrPassword = []string{"pwd"}
	amrMFA      = []string{"pwd", "mfa"}
	amrPHR      = []string{"pwd", "mfa", "pop"}
	amrPHRH     = []string{"pwd", "mfa", "hwk"}
)

// enrollAMR maps the amr values of enroll_amr_values to the authenticator
// an enrollment adds to the user.
var enrollAMR = map[string]string{
	"pop":   "webauthn",
	"hwk":   "okta_verify",
	"otp":   "google_otp",
	"sms":   "phone_number",
	"tel":   "phone_number",
	"email": "okta_email",
	"kba":   "security_question",
}

// chooseACR returns the first supported value of acr_values, in the
// client's order of preference, or "" when none was sent or none is
// supported: like Okta, the fake ignores values it does not know.
func chooseACR(values string) string {
	for _, v := range strings.Fields(values) {
		if slices.Contains(acrSupported, v) {
			return v
		}
	}
	return ""
}

// authenticatorsOf returns the authenticators enrolled by the user u.
func authenticatorsOf(u *userRec) []string {
	if u.Authenticators == nil {
		return defaultAuthenticators
	}
	return u.Authenticators
}

// hasSecondFactor reports whether authenticators include one besides the
// password.
func hasSecondFactor(authenticators []string) bool {
	return slices.ContainsFunc(authenticators, func(a string) bool { return a != "okta_password" })
}

// plan decides how a user with the given authenticators signs in to
// satisfy the request: the amr of the sign-in, and whether it needs the
// second-factor step. unmet is true when the user's authenticators cannot
// satisfy the request's acr_values.
func (req *authRequest) plan(authenticators []string) (amr []string, step, unmet bool) {
	switch req.acr {
	case "urn:okta:loa:2fa:any":
		if !hasSecondFactor(authenticators) {
			return nil, false, true
		}
		return amrMFA, true, false
	case "urn:okta:loa:2fa:any:ifpossible":
		if !hasSecondFactor(authenticators) {
			return amrPassword, false, false
		}
		return amrMFA, true, false
	case "phr":
		if !slices.Contains(authenticators, "webauthn") {
			return nil, false, true
		}
		return amrPHR, true, false
	case "phrh":
		if !slices.Contains(authenticators, "okta_verify") {
			return nil, false, true
		}
		return amrPHRH, true, false
	}
	return amrPassword, false, false
}

// satisfiedBy reports whether a session whose sign-in had the methods amr
// satisfies the request's acr_values for a user with authenticators.
func (req *authRequest) satisfiedBy(amr, authenticators []string) bool {
	switch req.acr {
	case "urn:okta:loa:2fa:any":
		return slices.Contains(amr, "mfa")
	case "urn:okta:loa:2fa:any:ifpossible":
		return slices.Contains(amr, "mfa") || !hasSecondFactor(authenticators)
	case "phr":
		return slices.Contains(amr, "pop") || slices.Contains(amr, "hwk")
	case "phrh":
		return slices.Contains(amr, "hwk")
	}
	return true
}

// unmetError is Okta's answer when the user cannot meet acr_values.
func (req *authRequest) unmetError() *authError {
	return &authError{
		code:        "unmet_authentication_requirements",
		desc:        "The user's authenticators do not satisfy the authentication requirements of the request.",
		redirectURI: req.redirectURI,
		state:       req.state,
	}
}

// enroll adds the authenticators named by the request's enroll_amr_values
// to the user. s.mu must be held.
func (req *authRequest) enroll(u *userRec) {
	if len(req.enrollAMR) == 0 {
		return
	}
	auths := slices.Clone(authenticatorsOf(u))
	for _, v := range req.enrollAMR {
		if a, ok := enrollAMR[v]; ok && !slices.Contains(auths, a) {
			auths = append(auths, a)
		}
	}
	u.Authenticators = auths
}
