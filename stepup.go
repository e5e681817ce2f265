package oktasso

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// stepUp says how recently and how strongly a user must have
// authenticated to use a route: MaxAge (0: any time), the acceptable ACR
// values (empty: any) and the AMR values that must all be present.
type stepUp struct {
	MaxAge time.Duration
	ACR    []string
	AMR    []string
	idp    string // where stepping up signs in (IdP), not a requirement
}

// stepUpFrom reads a requirement from the login options that state one,
// and the IdP to step up with. It panics on an invalid option's value.
func stepUpFrom(opts []LoginOption) stepUp {
	var lp loginParams
	for _, o := range opts {
		o.applyLogin(&lp)
	}
	if lp.err != nil {
		panic(lp.err.Error())
	}
	s := stepUp{ACR: lp.acr, AMR: lp.amr, idp: lp.idp}
	if lp.hasMaxAge && lp.maxAge > 0 {
		s.MaxAge = lp.maxAge
	}
	return s
}

// oktaTwoFactor is Okta's acr value for "any two factors".
const oktaTwoFactor = "urn:okta:loa:2fa:any"

// unmet reports what of s the user lacks, or "".
func (s stepUp) unmet(u *User, now time.Time) string {
	// The callback accepts auth_time up to MaxAge plus two minutes old; so does
	// this check, or a provider clock behind ours would loop step-ups.
	if s.MaxAge > 0 && (u.AuthTime.IsZero() || now.Sub(u.AuthTime) > s.MaxAge+clockSkew) {
		return "a recent sign-in"
	}
	if len(s.ACR) > 0 && !slices.Contains(s.ACR, u.ACR) {
		return "a stronger sign-in"
	}
	for _, m := range s.AMR {
		if !slices.Contains(u.AMR, m) {
			return "a stronger sign-in"
		}
	}
	return ""
}

// acrValues is what stepping up asks Okta for.
func (s stepUp) acrValues() []string {
	if len(s.ACR) == 0 && slices.Contains(s.AMR, "mfa") {
		return []string{oktaTwoFactor}
	}
	return s.ACR
}

// RequireStepUp returns middleware that admits a signed-in user only when
// their last authentication meets the requirement that opts state, for
// sensitive actions: MaxAge (authenticated at the provider at most that
// long ago, with two minutes of leeway for clock skew), ACRValues (an
// acceptable acr) and RequireAMR (every method present in amr; with "mfa"
// and no ACRValues, stepping up asks Okta for "urn:okta:loa:2fa:any").
// IdP makes stepping up sign in with that identity provider. Other
// options are ignored; no options ask for nothing. An option with an
// invalid value (see IdP) makes RequireStepUp panic: it is a programming
// error, found when the routes are built. When the requirement is not
// met, a browser's GET is sent through Okta again (prompt=login, with max_age and acr_values) and
// comes back to the same URL; the callback checks the result (and that the
// same user came back), so an unmet requirement cannot loop. API clients
// and other methods get 401 with an RFC 9470 challenge:
//
//	WWW-Authenticate: Bearer error="insufficient_user_authentication",
//	  error_description="…", max_age="300", acr_values="…"
//
// and JSON with login_url, the step-up sign-in to open in the browser.
// Inside Workspace or WebApp it uses their user; on its own it reads the
// session like they do. With a plain OAuth 2.0 provider (Config.OAuth2),
// which proves neither when nor how the user authenticated, any
// requirement refuses every request (403).
func (a *Auth) RequireStepUp(opts ...LoginOption) func(http.Handler) http.Handler {
	s := stepUpFrom(opts)
	return a.routeGuard(func(w http.ResponseWriter, r *http.Request, u *User) bool {
		if a.cfg.OAuth2 != nil && (s.MaxAge > 0 || len(s.ACR) > 0 || len(s.AMR) > 0) {
			// A plain OAuth 2.0 provider proves neither when nor how the
			// user authenticated: the requirement cannot be met, and
			// re-running the flow would loop.
			a.refuse(w, r, u, pageNotAllowed, "a recent or stronger sign-in, which this identity provider cannot prove")
			return false
		}
		why := s.unmet(u, a.now())
		if why == "" {
			return true
		}
		if _, err := a.provider.discover(r.Context()); err != nil {
			a.unavailable(w, r, err)
			return false
		}
		if !isAPI(r) && r.Method == http.MethodGet {
			opts := []LoginOption{Prompt("login"), expectSubject(u.Subject), LoginHint(u.Username)}
			if s.MaxAge > 0 {
				opts = append(opts, MaxAge(s.MaxAge))
			}
			if acr := s.acrValues(); len(acr) > 0 {
				opts = append(opts, ACRValues(acr...))
			}
			if len(s.AMR) > 0 {
				opts = append(opts, RequireAMR(s.AMR...))
			}
			if s.idp != "" {
				opts = append(opts, IdP(s.idp))
			}
			a.StartLogin(w, r, r.URL.RequestURI(), opts...)
			return false
		}
		a.insufficientAuthentication(w, r, s, why)
		return false
	})
}

// insufficientAuthentication answers 401 with an RFC 9470 challenge.
func (a *Auth) insufficientAuthentication(w http.ResponseWriter, r *http.Request, s stepUp, why string) {
	returnTo := "/"
	if r.Method == http.MethodGet {
		returnTo = r.URL.RequestURI()
	}
	q := url.Values{"return_to": {safePath(returnTo)}, "prompt": {"login"}, "step_up": {"1"}}
	challenge := `Bearer realm="oktasso", error="insufficient_user_authentication", error_description="` + why + ` is required"`
	if s.MaxAge > 0 {
		secs := strconv.FormatInt(int64(s.MaxAge/time.Second), 10)
		q.Set("max_age", secs)
		challenge += `, max_age="` + secs + `"`
	}
	if acr := s.acrValues(); len(acr) > 0 {
		q.Set("acr_values", strings.Join(acr, " "))
		challenge += `, acr_values="` + strings.Join(acr, " ") + `"`
	}
	loginURL := a.cfg.BaseURL + loginPath + "?" + q.Encode()
	w.Header().Set("WWW-Authenticate", challenge)
	writeJSONError(w, http.StatusUnauthorized, "insufficient_user_authentication", why+" is required", loginURL)
}
