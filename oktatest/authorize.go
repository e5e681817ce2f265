package oktatest

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// codeLifetime is how long an authorization code may be redeemed.
const codeLifetime = 5 * time.Minute

// authRequest is a validated authorize request.
type authRequest struct {
	as          *authServer
	client      *clientRec
	redirectURI string
	state       string
	nonce       string
	challenge   string
	loginHint   string
	scopes      []string
	prompt      []string
	maxAge      int    // -1 when absent
	acr         string // the chosen acr_values entry, "" when none was sent
}

// authError is a failed authorize request: either a page shown to the user
// (page true) or an error sent back to the redirect URI.
type authError struct {
	page        bool
	code, desc  string
	redirectURI string
	state       string
}

// ssoSession is the fake's own browser session. Its fields other than
// apps are immutable; apps is guarded by s.mu.
type ssoSession struct {
	sid      string // the "sid" claim; unlike the cookie value, not a secret
	userID   string
	authTime time.Time
	amr      []string // ["pwd"] or ["pwd", "mfa"]
	apps     []appRef // where the user signed in during the session
}

// appRef is an application a user signed in to through an authorization
// server.
type appRef struct {
	clientID string
	as       *authServer
}

// mfa reports whether the session's sign-in had a second factor.
func (sess *ssoSession) mfa() bool {
	return slices.Contains(sess.amr, "mfa")
}

// authn is what a sign-in established, carried from the SSO session into
// codes, grants and ID tokens.
type authn struct {
	userID   string
	authTime time.Time
	amr      []string // "amr"; nil means ["pwd"]
	acr      string   // "acr", echoed from acr_values; "" when none was asked
	sid      string   // "sid", the SSO session id
}

// authCode is an issued authorization code.
type authCode struct {
	req *authRequest
	authn
	expires time.Time
}

// acrSupported are the acr_values the fake honours, Okta's names. The
// "2fa" ones make the sign-in ask for a code (see [VerificationCode]).
var acrSupported = []string{
	"urn:okta:loa:1fa:any",
	"urn:okta:loa:1fa:pwd",
	"urn:okta:loa:2fa:any",
	"urn:okta:loa:2fa:any:ifpossible",
}

// amrPassword and amrMFA are the amr claims of one- and two-factor
// sign-ins.
var (
	amrPassword = []string{"pwd"}
	amrMFA      = []string{"pwd", "mfa"}
)

// needsMFA reports whether the request asks for a second factor.
func (req *authRequest) needsMFA() bool {
	return strings.Contains(req.acr, ":2fa:")
}

// amr returns the amr of a sign-in that satisfies the request.
func (req *authRequest) amr() []string {
	if req.needsMFA() {
		return amrMFA
	}
	return amrPassword
}

// authorizeParams are the authorize parameters that may be sent at most
// once.
var authorizeParams = []string{"client_id", "redirect_uri", "state", "response_type", "scope", "nonce", "code_challenge", "code_challenge_method", "prompt", "max_age", "acr_values"}

// parseAuthorize validates an authorize request for authorization server
// as. Errors before the redirect URI is trusted are pages.
func (s *Server) parseAuthorize(as *authServer, q url.Values) (*authRequest, *authError) {
	for _, p := range authorizeParams {
		if len(q[p]) > 1 {
			return nil, &authError{page: true, code: "invalid_request", desc: "The '" + p + "' parameter was repeated."}
		}
	}
	client := s.clientByID(q.Get("client_id"))
	if client == nil {
		return nil, &authError{page: true, code: "invalid_client", desc: "The 'client_id' parameter is missing or invalid."}
	}
	req := &authRequest{
		as:          as,
		client:      client,
		redirectURI: q.Get("redirect_uri"),
		state:       q.Get("state"),
		nonce:       q.Get("nonce"),
		challenge:   q.Get("code_challenge"),
		loginHint:   q.Get("login_hint"),
		scopes:      strings.Fields(q.Get("scope")),
		prompt:      strings.Fields(q.Get("prompt")),
		maxAge:      -1,
	}
	if !slices.Contains(client.RedirectURIs, req.redirectURI) {
		return nil, &authError{page: true, code: "invalid_request", desc: "The 'redirect_uri' parameter must be a Login redirect URI in the client app settings."}
	}
	if e := s.checkAuthorize(req, q); e != nil {
		e.redirectURI, e.state = req.redirectURI, req.state
		return nil, e
	}
	return req, nil
}

// checkAuthorize runs, in order, the checks of an authorize request whose
// errors go back to the redirect URI, and sets req's maxAge and acr. The
// error it returns has neither redirect URI nor state yet.
func (s *Server) checkAuthorize(req *authRequest, q url.Values) *authError {
	if e := checkResponseType(q.Get("response_type"), q.Get("response_mode")); e != nil {
		return e
	}
	if req.state == "" {
		return &authError{code: "invalid_request", desc: "The authorization request is missing the 'state' parameter."}
	}
	if e := s.checkScopes(req.as, req.scopes); e != nil {
		return e
	}
	if e := checkPKCE(req.challenge, q.Get("code_challenge_method"), req.client.AuthMethod); e != nil {
		return e
	}
	if e := checkPrompt(req.prompt); e != nil {
		return e
	}
	var e *authError
	if req.maxAge, e = parseMaxAge(q.Get("max_age")); e != nil {
		return e
	}
	req.acr, e = chooseACR(q.Get("acr_values"))
	return e
}

// checkResponseType accepts response_type code, in the query response
// mode.
func checkResponseType(rt, rm string) *authError {
	switch {
	case rt == "":
		return &authError{code: "invalid_request", desc: "The 'response_type' parameter is missing."}
	case rt != "code":
		return &authError{code: "unsupported_response_type", desc: "The response type is not supported by the authorization server. Configured response types: [code]."}
	case rm != "" && rm != "query":
		return &authError{code: "unsupported_response_mode", desc: "The response mode '" + rm + "' is not supported by oktatest. Supported: [query]."}
	}
	return nil
}

// checkScopes requires openid and accepts only the standard scopes and
// those added to authorization server as.
func (s *Server) checkScopes(as *authServer, scopes []string) *authError {
	if !slices.Contains(scopes, "openid") {
		return &authError{code: "invalid_scope", desc: "The authorization request must include the 'openid' scope."}
	}
	s.mu.Lock()
	custom := as.scopes
	s.mu.Unlock()
	for _, sc := range scopes {
		if !slices.Contains(scopesSupported, sc) && !slices.Contains(custom, sc) {
			return &authError{code: "invalid_scope", desc: "One or more scopes are not configured for the authorization server resource."}
		}
	}
	return nil
}

// checkPKCE checks the code challenge and its method: S256 when there is
// one, and one is required of a public client (authMethod "none").
func checkPKCE(challenge, method, authMethod string) *authError {
	desc := ""
	switch {
	case challenge == "" && method != "":
		desc = "The 'code_challenge' parameter is missing."
	case challenge != "" && method != "S256":
		desc = "The 'code_challenge_method' parameter must be 'S256'."
	case challenge != "" && !validChallenge(challenge):
		desc = "The 'code_challenge' parameter must be 43 base64url characters."
	case challenge == "" && authMethod == "none":
		desc = "PKCE code challenge is required when the token endpoint authentication method is 'NONE'."
	default:
		return nil
	}
	return &authError{code: "invalid_request", desc: desc}
}

// checkPrompt accepts the prompt values none, login and consent, none
// alone.
func checkPrompt(prompt []string) *authError {
	for _, p := range prompt {
		if p != "none" && p != "login" && p != "consent" {
			return &authError{code: "invalid_request", desc: "The 'prompt' parameter value '" + p + "' is not supported."}
		}
	}
	if slices.Contains(prompt, "none") && len(prompt) > 1 {
		return &authError{code: "invalid_request", desc: "The 'prompt' value 'none' cannot be combined with other values."}
	}
	return nil
}

// parseMaxAge parses max_age: -1 when absent.
func parseMaxAge(ma string) (int, *authError) {
	if ma == "" {
		return -1, nil
	}
	n, err := strconv.Atoi(ma)
	if err != nil || n < 0 {
		return -1, &authError{code: "invalid_request", desc: "The 'max_age' parameter must be a non-negative integer."}
	}
	return n, nil
}

// chooseACR returns the first supported value of acr_values, in the
// client's order of preference, or "" when none was sent.
func chooseACR(values string) (string, *authError) {
	acr := strings.Fields(values)
	if len(acr) == 0 {
		return "", nil
	}
	i := slices.IndexFunc(acr, func(v string) bool { return slices.Contains(acrSupported, v) })
	if i < 0 {
		return "", &authError{code: "invalid_request", desc: "The 'acr_values' parameter is not supported. Supported values: " + strings.Join(acrSupported, ", ") + "."}
	}
	return acr[i], nil
}

// validChallenge reports whether c looks like an S256 code challenge.
func validChallenge(c string) bool {
	if len(c) != 43 {
		return false
	}
	_, err := b64.DecodeString(c)
	return err == nil
}

// handleAuthorize serves GET {as}/v1/authorize.
func (s *Server) handleAuthorize(w http.ResponseWriter, r *http.Request, as *authServer) {
	req, aerr := s.parseAuthorize(as, r.URL.Query())
	s.authorize(w, r, req, aerr)
}

// authorize answers a parsed authorize request (OpenID Connect or plain
// OAuth 2.0): with the SSO session, by AutoLogin, or with the sign-in form.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request, req *authRequest, aerr *authError) {
	if aerr != nil {
		s.authorizeError(w, r, aerr)
		return
	}
	sess := s.session(r)
	if sess != nil && req.needsLogin(sess, s.now()) {
		sess = nil
	}
	if sess == nil && slices.Contains(req.prompt, "none") {
		s.authorizeError(w, r, &authError{code: "login_required", desc: "The client specified not to prompt, but the user is not logged in.", redirectURI: req.redirectURI, state: req.state})
		return
	}
	if sess == nil {
		s.mu.Lock()
		auto := s.userByLoginLocked(s.autoLogin)
		if auto != nil && auto.Status != "ACTIVE" {
			auto = nil
		}
		s.mu.Unlock()
		if auto == nil {
			http.Redirect(w, r, s.URL+SignInPath+"?fromURI="+url.QueryEscape(r.URL.RequestURI()), http.StatusFound)
			return
		}
		sess = s.startSession(w, auto.ID, req.amr())
	}
	s.completeAuthorize(w, r, req, sess)
}

// needsLogin reports whether the request demands a fresh sign-in despite
// the session: prompt=login, max_age exceeded, or a second factor the
// session's sign-in did not have.
func (req *authRequest) needsLogin(sess *ssoSession, now time.Time) bool {
	if slices.Contains(req.prompt, "login") || (req.needsMFA() && !sess.mfa()) {
		return true
	}
	return req.maxAge >= 0 && now.Sub(sess.authTime) > time.Duration(req.maxAge)*time.Second
}

// completeAuthorize issues a code for the signed-in user and redirects back
// to the client, or sends access_denied if the user is not assigned.
func (s *Server) completeAuthorize(w http.ResponseWriter, r *http.Request, req *authRequest, sess *ssoSession) {
	s.mu.Lock()
	u := s.users[sess.userID]
	if u == nil || !req.client.assigned(u.Login) {
		s.mu.Unlock()
		s.authorizeError(w, r, &authError{code: "access_denied", desc: "User is not assigned to the client application.", redirectURI: req.redirectURI, state: req.state})
		return
	}
	code := randomToken()
	now := s.now()
	s.codes[code] = &authCode{
		req:     req,
		authn:   authn{userID: u.ID, authTime: sess.authTime, amr: sess.amr, acr: req.acr, sid: sess.sid},
		expires: now.Add(codeLifetime),
	}
	// Plain OAuth 2.0 sign-ins (as nil) take no part in single logout.
	if app := (appRef{req.client.ID, req.as}); req.as != nil && !slices.Contains(sess.apps, app) {
		sess.apps = append(sess.apps, app)
	}
	for c, ac := range s.codes {
		if now.After(ac.expires) {
			delete(s.codes, c)
		}
	}
	s.mu.Unlock()
	http.Redirect(w, r, withQuery(req.redirectURI, url.Values{"code": {code}, "state": {req.state}}), http.StatusFound)
}

// authorizeError shows an error page or redirects the error to the client.
func (s *Server) authorizeError(w http.ResponseWriter, r *http.Request, e *authError) {
	if e.page {
		renderError(w, http.StatusBadRequest, e.code, e.desc)
		return
	}
	v := url.Values{"error": {e.code}, "error_description": {e.desc}}
	if e.state != "" {
		v.Set("state", e.state)
	}
	http.Redirect(w, r, withQuery(e.redirectURI, v), http.StatusFound)
}

// withQuery adds v to the query of the URL u.
func withQuery(u string, v url.Values) string {
	sep := "?"
	if strings.Contains(u, "?") {
		sep = "&"
	}
	return u + sep + v.Encode()
}

// sessionCookie is the name of this server's SSO session cookie. Cookies
// ignore ports, so the name carries the server instance.
func (s *Server) sessionCookie() string {
	return "oktatest_sso_" + s.instance
}

// session returns the browser's SSO session with an ACTIVE user, or nil.
func (s *Server) session(r *http.Request) *ssoSession {
	c, err := r.Cookie(s.sessionCookie())
	if err != nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sess := s.sessions[c.Value]
	if sess == nil {
		return nil
	}
	if u := s.users[sess.userID]; u == nil || u.Status != "ACTIVE" {
		return nil
	}
	return sess
}

// startSession creates an SSO session for the user, signed in with the
// methods amr, and sets its cookie.
func (s *Server) startSession(w http.ResponseWriter, userID string, amr []string) *ssoSession {
	id := randomToken()
	sess := &ssoSession{sid: randomID("102", 25), userID: userID, authTime: s.now(), amr: amr}
	s.mu.Lock()
	s.sessions[id] = sess
	s.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: s.sessionCookie(), Value: id, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
	return sess
}

// endSession deletes the browser's SSO session and its cookie, and returns
// the session, or nil if there was none.
func (s *Server) endSession(w http.ResponseWriter, r *http.Request) *ssoSession {
	var sess *ssoSession
	if c, err := r.Cookie(s.sessionCookie()); err == nil {
		s.mu.Lock()
		sess = s.sessions[c.Value]
		delete(s.sessions, c.Value)
		s.mu.Unlock()
	}
	http.SetCookie(w, &http.Cookie{Name: s.sessionCookie(), Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	return sess
}
