package oktasso

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/oktasso/oktasso/audit"
	"github.com/oktasso/oktasso/internal/httpjson"
	"golang.org/x/oauth2"
)

// flow is one sign-in in progress, kept in its own short-lived encrypted
// cookie named after its state, so two tabs signing in at once do not
// overwrite each other.
type flow struct {
	State     string `json:"s"`
	Nonce     string `json:"n"`
	Verifier  string `json:"v"`
	ReturnTo  string `json:"r"`
	MaxAge    int64  `json:"m"` // seconds; meaningful when HasMaxAge
	HasMaxAge bool   `json:"h,omitempty"`
	Created   int64  `json:"c"`

	ACR      []string `json:"a,omitempty"`  // acr_values asked: the ID token's acr must be one of them
	AMR      []string `json:"am,omitempty"` // methods the ID token's amr must include
	Subject  string   `json:"u,omitempty"`  // the user who must come back (step-up, purposes)
	Purpose  string   `json:"p,omitempty"`  // "" for sign-in, else a Purpose's name
	Redirect string   `json:"rd,omitempty"` // the callback path when not CallbackPath
	Silent   int      `json:"q,omitempty"`  // prompt=none: silentInteractive or silentAnonymous
	Enroll   bool     `json:"e,omitempty"`  // an authenticator enrollment: Okta answers with no code
}

// What a silent sign-in (prompt=none) does when Okta has no session for
// the browser.
const (
	silentInteractive = 1 // start an interactive sign-in
	silentAnonymous   = 2 // go back to return_to, signed out
)

// LoginOption changes one sign-in request. Options are made by Prompt,
// LoginHint, MaxAge, ACRValues, RequireAMR, IdP and EnrollAuthenticator.
type LoginOption interface{ applyLogin(*loginParams) }

type loginParams struct {
	prompt, loginHint string
	maxAge            time.Duration
	hasMaxAge         bool
	acr, amr          []string
	subject           string
	silent            int
	idp               string   // Okta's idp parameter
	enroll            []string // enroll_amr_values; non-nil for an enrollment
	err               error    // an option's invalid value: the sign-in is not started
}

type loginOptionFunc func(*loginParams)

func (f loginOptionFunc) applyLogin(p *loginParams) { f(p) }

// Prompt sets the prompt parameter: "login" forces the user to sign in
// again, "none" fails unless they already have a provider session,
// "consent" asks for consent again.
func Prompt(p string) LoginOption { return loginOptionFunc(func(lp *loginParams) { lp.prompt = p }) }

// LoginHint pre-fills the provider's sign-in form with a username.
func LoginHint(h string) LoginOption {
	return loginOptionFunc(func(lp *loginParams) { lp.loginHint = h })
}

// MaxAge asks the provider to re-authenticate the user when their last
// authentication is older than d; the callback then requires auth_time.
func MaxAge(d time.Duration) LoginOption {
	return loginOptionFunc(func(lp *loginParams) { lp.maxAge, lp.hasMaxAge = d, true })
}

// ACRValues asks the provider for an authentication context class, e.g.
// "urn:okta:loa:2fa:any" for a second factor (Okta's names are in its
// discovery document, acr_values_supported). The callback then refuses an
// ID token whose acr is not one of values.
func ACRValues(values ...string) LoginOption {
	return loginOptionFunc(func(lp *loginParams) { lp.acr = slices.Clone(values) })
}

// RequireAMR makes the callback refuse an ID token whose amr claim lacks
// one of methods (e.g. "mfa"). It does not ask the provider for them: pair
// it with ACRValues.
func RequireAMR(methods ...string) LoginOption {
	return loginOptionFunc(func(lp *loginParams) { lp.amr = slices.Clone(methods) })
}

// Limits on the values of IdP and EnrollAuthenticator.
const (
	maxIdPLen         = 64 // Okta's ids ("0oa…") are 20 characters
	maxEnrollMethods  = 8
	maxEnrollValueLen = 32
)

// IdP routes the sign-in to an external identity provider that the Okta
// org trusts (Okta's idp parameter), so the user skips Okta's own sign-in
// page: id is the Identity Provider's id in Okta ("0oa…", under Security,
// Identity Providers). An id that is empty, longer than 64 characters or
// not made of ASCII letters, digits, "-" and "_" is refused: the sign-in
// is not started, the browser gets a 500 page and the log says why.
func IdP(id string) LoginOption {
	return loginOptionFunc(func(lp *loginParams) {
		if id == "" || len(id) > maxIdPLen || !isToken(id, "-_") {
			lp.err = fmt.Errorf("oktasso: IdP(%.80q): use the identity provider's id in Okta, 1 to %d ASCII letters, digits, '-' and '_'", id, maxIdPLen)
			return
		}
		lp.idp = id
	})
}

// EnrollAuthenticator makes the flow an Okta authenticator enrollment
// instead of a sign-in: Okta authenticates the user again and has them
// enroll one of the authenticators methods names (enroll_amr_values,
// Okta's amr values such as "okta_verify", "sms", "otp" or "kba"). It
// sends prompt=enroll_authenticator (replacing any other prompt),
// max_age=0, the ACRValues given or else
// "urn:okta:loa:2fa:any:ifpossible", and response_type=none, as Okta
// requires: Okta's answer carries no code and no tokens, so the browser's
// session is left as it was. Enrollment needs a signed-in user: without a
// session the browser is sent to sign in first and comes back to the URL
// that started the enrollment (for a GET; else to its return path). A
// Purpose's done then runs with the session's user, the one who started
// it. Since Okta's answer carries no token, it proves only that this
// browser's flow came back without an error, not that an authenticator
// was enrolled: where that matters, read the user's factors with the
// Management API, or ask for the method at the next sign-in (RequireAMR).
// Use it with StartLogin or Purpose.Start; RequireStepUp ignores it.
// No methods, more than 8, or a method longer than 32 characters or not
// made of ASCII letters, digits, "-", "_", "." and ":" are refused like a
// bad IdP.
func EnrollAuthenticator(methods ...string) LoginOption {
	return loginOptionFunc(func(lp *loginParams) {
		bad := len(methods) == 0 || len(methods) > maxEnrollMethods
		for _, m := range methods {
			bad = bad || m == "" || len(m) > maxEnrollValueLen || !isToken(m, "-_.:")
		}
		if bad {
			lp.err = fmt.Errorf("oktasso: EnrollAuthenticator(%.120q): name 1 to %d authenticators by their amr value (e.g. okta_verify, sms, otp), each 1 to %d ASCII letters, digits, '-', '_', '.' and ':'", methods, maxEnrollMethods, maxEnrollValueLen)
			return
		}
		lp.enroll = slices.Clone(methods)
	})
}

// isToken reports whether s is made of ASCII letters, digits and the bytes
// of extra only: nothing a URL or a parameter list could give a meaning.
func isToken(s, extra string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte(extra, c) >= 0) {
			return false
		}
	}
	return true
}

// oktaTwoFactorIfPossible is the acr value an enrollment asks for when the
// application names none: two factors when the user has them, so that an
// enrollment cannot be started with a stolen password alone once a second
// factor exists.
const oktaTwoFactorIfPossible = "urn:okta:loa:2fa:any:ifpossible"

// expectSubject makes the callback refuse anyone but the user sub.
func expectSubject(sub string) LoginOption {
	return loginOptionFunc(func(lp *loginParams) { lp.subject = sub })
}

// silently tries prompt=none, then does what mode says.
func silently(mode int) LoginOption {
	return loginOptionFunc(func(lp *loginParams) { lp.prompt, lp.silent = "none", mode })
}

// maxACRValues bounds acr_values taken from a sign-in URL.
const maxACRValues = 5

// handleLogin serves GET /auth/login?return_to=/path[&prompt=login]
// [&login_hint=…][&max_age=N][&acr_values=…][&step_up=1]. With step_up=1
// the signed-in user must be the one who comes back.
func (a *Auth) handleLogin(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var opts []LoginOption
	switch p := q.Get("prompt"); p {
	case "login", "none", "consent":
		opts = append(opts, Prompt(p))
	}
	if h := q.Get("login_hint"); h != "" && len(h) <= 256 && printable(h) {
		opts = append(opts, LoginHint(h))
	}
	if s := q.Get("max_age"); s != "" {
		if n, err := strconv.Atoi(s); err == nil && n >= 0 && n <= 366*24*3600 {
			opts = append(opts, MaxAge(time.Duration(n)*time.Second))
		}
	}
	if v := strings.Fields(q.Get("acr_values")); len(v) > 0 && len(v) <= maxACRValues && len(q.Get("acr_values")) <= 512 && printable(q.Get("acr_values")) {
		opts = append(opts, ACRValues(v...))
	}
	if q.Get("step_up") == "1" {
		if s, _ := a.peekSession(r.Context(), r); s != nil {
			opts = append(opts, expectSubject(s.Subject), LoginHint(s.Username))
		}
	}
	a.StartLogin(w, r, q.Get("return_to"), opts...)
}

// handleInitiateLogin serves GET /auth/initiate-login?iss=…[&login_hint=…]
// [&target_link_uri=…], the OpenID Connect third-party initiated login that
// Okta's dashboard tiles use. It only starts a sign-in, and only for our own
// issuer (or its origin, which Okta sends for the org): it never completes
// one, so it cannot be used to sign a browser in to an attacker's account.
func (a *Auth) handleInitiateLogin(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	iss := q.Get("iss")
	if iss == "" || (iss != a.provider.issuer && iss != originOf(a.provider.issuer)) {
		noStore(w)
		a.fail(w, r, http.StatusBadRequest, fmt.Errorf("%w: initiate-login from issuer %q", ErrInvalidCallback, iss), pageForeignIssuer)
		return
	}
	var opts []LoginOption
	if h := q.Get("login_hint"); h != "" && len(h) <= 256 && printable(h) {
		opts = append(opts, LoginHint(h))
	}
	a.StartLogin(w, r, a.localTarget(q.Get("target_link_uri")), opts...)
}

// localTarget turns a target_link_uri (absolute on our base URL, or a path)
// into a same-origin path; anything else becomes "/".
func (a *Auth) localTarget(t string) string {
	if t == "" {
		return "/"
	}
	if strings.HasPrefix(t, "/") {
		return safePath(t)
	}
	u, err := url.Parse(t)
	base, _ := url.Parse(a.cfg.BaseURL)
	if err != nil || base == nil || originOf(t) != originOf(a.cfg.BaseURL) || u.User != nil {
		return "/"
	}
	// Paths are relative to the base URL, which may have a path (a tenant
	// served under a prefix): a target outside it is not ours.
	rest, ok := strings.CutPrefix(u.RequestURI(), strings.TrimRight(base.Path, "/"))
	if !ok || (rest != "" && rest[0] != '/' && rest[0] != '?') {
		return "/"
	}
	return safePath(rest)
}

func printable(s string) bool {
	for _, c := range s {
		if c < ' ' || c == 0x7f {
			return false
		}
	}
	return true
}

// StartLogin starts a sign-in that comes back to returnTo (a same-origin
// path; anything else becomes "/"): it stores a fresh state, nonce and PKCE
// verifier in a per-flow cookie and redirects to the authorization
// endpoint. While the provider is unreachable it answers 503 with
// Retry-After.
func (a *Auth) StartLogin(w http.ResponseWriter, r *http.Request, returnTo string, opts ...LoginOption) {
	a.startFlow(w, r, returnTo, "", "", opts)
}

// startFlow starts a sign-in for purpose ("" for the session's own), whose
// callback is redirectPath ("" for CallbackPath).
func (a *Auth) startFlow(w http.ResponseWriter, r *http.Request, returnTo, purpose, redirectPath string, opts []LoginOption) {
	var lp loginParams
	for _, o := range opts {
		o.applyLogin(&lp)
	}
	if lp.err != nil {
		a.audit(r.Context(), slog.LevelError, audit.Event{Name: audit.EventLoginFailed, Reason: audit.ReasonInternal}, lp.err)
		a.fail(w, r, http.StatusInternalServerError, lp.err, pageLoginFailed)
		return
	}
	if lp.enroll != nil {
		// Okta's answer to an enrollment names nobody: it is the signed-in
		// user's, or nobody's.
		s, _ := a.peekSession(r.Context(), r)
		if s == nil {
			back := returnTo
			if r.Method == http.MethodGet || r.Method == http.MethodHead {
				back = r.URL.RequestURI()
			}
			a.StartLogin(w, r, back)
			return
		}
		lp.subject = s.Subject
		if lp.loginHint == "" {
			lp.loginHint = s.Username
		}
	}
	d, err := a.provider.discover(r.Context())
	if err != nil {
		a.unavailable(w, r, err)
		return
	}
	now := a.now()
	f := flow{
		State:    randomString(32),
		Nonce:    randomString(32),
		Verifier: oauth2.GenerateVerifier(),
		ReturnTo: safePath(returnTo),
		Created:  now.Unix(),
		ACR:      lp.acr,
		AMR:      lp.amr,
		Subject:  lp.subject,
		Purpose:  purpose,
		Redirect: redirectPath,
		Silent:   lp.silent,
	}
	var authURL string
	if lp.enroll != nil {
		// No code comes back: nothing to verify, so nothing to remember
		// but the state and the user.
		f.Enroll, f.Nonce, f.Verifier, f.ACR, f.AMR = true, "", "", nil, nil
		authURL = enrollURL(a.flowConfig(d, &f), f.State, lp)
	} else {
		authURL = a.authorizeURL(d, &f, lp, purpose)
	}

	a.evictFlows(w, r)
	name := a.flowCookieName(f.State)
	v, err := a.cookies.flow.seal(name, &f, now.Add(flowTTL))
	if err != nil && f.ReturnTo != "/" {
		// A return_to too long for the cookie is dropped, not an error.
		f.ReturnTo = "/"
		v, err = a.cookies.flow.seal(name, &f, now.Add(flowTTL))
	}
	if err != nil {
		a.fail(w, r, http.StatusInternalServerError, err, pageLoginFailed)
		return
	}
	a.cookies.set(w, name, v, flowTTL)
	noStore(w)
	http.Redirect(w, r, authURL, http.StatusFound)
}

// authorizeURL is the authorization request of the sign-in flow f (a code
// flow with PKCE and a nonce) with params lp; it sets f's max_age.
func (a *Auth) authorizeURL(d *discovered, f *flow, lp loginParams, purpose string) string {
	authOpts := []oauth2.AuthCodeOption{
		oauth2.SetAuthURLParam("nonce", f.Nonce),
		oauth2.S256ChallengeOption(f.Verifier),
	}
	if prompt := a.promptFor(lp, purpose); prompt != "" {
		authOpts = append(authOpts, oauth2.SetAuthURLParam("prompt", prompt))
	}
	if lp.loginHint != "" {
		authOpts = append(authOpts, oauth2.SetAuthURLParam("login_hint", lp.loginHint))
	}
	if lp.hasMaxAge {
		f.MaxAge, f.HasMaxAge = max(int64(lp.maxAge/time.Second), 0), true
		authOpts = append(authOpts, oauth2.SetAuthURLParam("max_age", strconv.FormatInt(f.MaxAge, 10)))
	}
	if len(lp.acr) > 0 {
		authOpts = append(authOpts, oauth2.SetAuthURLParam("acr_values", strings.Join(lp.acr, " ")))
	}
	if lp.idp != "" {
		authOpts = append(authOpts, oauth2.SetAuthURLParam("idp", lp.idp))
	}
	return a.flowConfig(d, f).AuthCodeURL(f.State, authOpts...)
}

// enrollURL is the authorization request of an Okta authenticator
// enrollment, as Okta's own SDKs send it: response_type=none,
// prompt=enroll_authenticator alone, max_age=0, acr_values and
// enroll_amr_values; no scope, nonce or PKCE, since no code comes back.
func enrollURL(c *oauth2.Config, state string, lp loginParams) string {
	acr := lp.acr
	if len(acr) == 0 {
		acr = []string{oktaTwoFactorIfPossible}
	}
	v := url.Values{
		"response_type":     {"none"},
		"client_id":         {c.ClientID},
		"redirect_uri":      {c.RedirectURL},
		"state":             {state},
		"prompt":            {"enroll_authenticator"},
		"enroll_amr_values": {strings.Join(lp.enroll, " ")},
		"max_age":           {"0"},
		"acr_values":        {strings.Join(acr, " ")},
	}
	if lp.loginHint != "" {
		v.Set("login_hint", lp.loginHint)
	}
	if lp.idp != "" {
		v.Set("idp", lp.idp)
	}
	sep := "?"
	if strings.Contains(c.Endpoint.AuthURL, "?") {
		sep = "&"
	}
	return c.Endpoint.AuthURL + sep + v.Encode()
}

// promptFor is the prompt parameter of a sign-in for purpose ("" for the
// session's own) with params lp: its own, else Config.Access.Prompt (for a
// session's sign-in; "none" is the guards' silent attempt, not a default).
// With Access.Prompt "consent", a prompt=login asks for consent too, so a
// step-up keeps the refresh token a strict provider grants only then.
func (a *Auth) promptFor(lp loginParams, purpose string) string {
	def := a.cfg.Access.Prompt
	switch {
	case purpose != "" || def == "none":
		return lp.prompt
	case lp.prompt == "":
		return def
	case lp.prompt == "login" && def == "consent":
		return "login consent"
	}
	return lp.prompt
}

// flowCookieName names a flow's cookie after a digest of its state, so the
// callback finds it from the state parameter alone.
func (a *Auth) flowCookieName(state string) string {
	sum := sha256.Sum256([]byte(state))
	return a.cookies.prefix + "-flow-" + base64.RawURLEncoding.EncodeToString(sum[:12])
}

func (a *Auth) isFlowCookie(name string) bool {
	return strings.HasPrefix(name, a.cookies.prefix+"-flow-")
}

// evictFlows keeps the browser's pending sign-ins under maxPendingLogins
// (counting the one being started): unreadable flow cookies go first, then
// the oldest.
func (a *Auth) evictFlows(w http.ResponseWriter, r *http.Request) {
	type pending struct {
		name    string
		created int64
	}
	var flows []pending
	seen := map[string]bool{}
	for _, ck := range r.Cookies() {
		if !a.isFlowCookie(ck.Name) || seen[ck.Name] {
			continue
		}
		seen[ck.Name] = true
		var f flow
		if err := a.cookies.flow.open(ck.Name, ck.Value, a.now(), &f); err != nil {
			a.cookies.set(w, ck.Name, "", -1)
			continue
		}
		flows = append(flows, pending{ck.Name, f.Created})
	}
	sort.Slice(flows, func(i, j int) bool { return flows[i].created < flows[j].created })
	for len(flows) >= maxPendingLogins {
		a.cookies.set(w, flows[0].name, "", -1)
		flows = flows[1:]
	}
}

func randomString(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func noStore(w http.ResponseWriter) { httpjson.NoStore(w) }
