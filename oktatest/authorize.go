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
	maxAge      int      // -1 when absent
	acr         string   // the chosen acr_values entry, "" when none was sent or known
	enrollAMR   []string // enroll_amr_values with prompt=enroll_authenticator
	noCode      bool     // response_type=none: answer with state alone
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

// authn is what a sign-in established, carried from the SSO session into
// codes, grants and ID tokens.
type authn struct {
	userID   string
	authTime time.Time
	amr      []string       // "amr"; nil means ["pwd"]
	acr      string         // "acr", echoed from acr_values; "" when none was asked
	sid      string         // "sid", the SSO session id
	family   *refreshFamily // the refresh tokens of the sign-in; nil until one is issued
}

// authCode is an issued authorization code.
type authCode struct {
	req *authRequest
	authn
	expires time.Time
}

// authorizeParams are the authorize parameters that may be sent at most
// once.
var authorizeParams = []string{"client_id", "redirect_uri", "state", "response_type", "scope", "nonce", "code_challenge", "code_challenge_method", "prompt", "max_age", "acr_values", "idp", "enroll_amr_values"}

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
// errors go back to the redirect URI, and sets req's maxAge, acr,
// enrollAMR and noCode. The error it returns has neither redirect URI nor
// state yet.
func (s *Server) checkAuthorize(req *authRequest, q url.Values) *authError {
	if e := checkPrompt(req.prompt); e != nil {
		return e
	}
	enroll := slices.Contains(req.prompt, "enroll_authenticator")
	rt := q.Get("response_type")
	req.noCode = enroll && rt == "none"
	if !req.noCode {
		if e := checkResponseType(rt, q.Get("response_mode")); e != nil {
			return e
		}
	}
	if req.state == "" {
		return &authError{code: "invalid_request", desc: "The authorization request is missing the 'state' parameter."}
	}
	if e := s.checkScopes(req.as, req.scopes, !req.noCode); e != nil {
		return e
	}
	if !req.noCode {
		if e := checkPKCE(req.challenge, q.Get("code_challenge_method"), req.client.AuthMethod); e != nil {
			return e
		}
	}
	var e *authError
	if req.maxAge, e = parseMaxAge(q.Get("max_age")); e != nil {
		return e
	}
	req.acr = chooseACR(q.Get("acr_values"))
	if enroll {
		req.enrollAMR = strings.Fields(q.Get("enroll_amr_values"))
		switch {
		case len(req.enrollAMR) == 0:
			return &authError{code: "invalid_request", desc: "The 'enroll_amr_values' parameter is required with prompt=enroll_authenticator."}
		case req.maxAge != 0:
			return &authError{code: "invalid_request", desc: "The 'max_age' parameter must be 0 with prompt=enroll_authenticator."}
		}
	}
	return nil
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

// checkScopes accepts only the scopes authorization server as knows (see
// [Server.AddScopes]), and requires openid when needOpenID.
func (s *Server) checkScopes(as *authServer, scopes []string, needOpenID bool) *authError {
	if needOpenID && !slices.Contains(scopes, "openid") {
		return &authError{code: "invalid_scope", desc: "The authorization request must include the 'openid' scope."}
	}
	s.mu.Lock()
	known := as.knownScopes()
	s.mu.Unlock()
	for _, sc := range scopes {
		if !slices.Contains(known, sc) {
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

// checkPrompt accepts the prompt values none, login, consent and
// enroll_authenticator; none and enroll_authenticator alone.
func checkPrompt(prompt []string) *authError {
	for _, p := range prompt {
		if p != "none" && p != "login" && p != "consent" && p != "enroll_authenticator" {
			return &authError{code: "invalid_request", desc: "The 'prompt' parameter value '" + p + "' is not supported."}
		}
	}
	for _, alone := range []string{"none", "enroll_authenticator"} {
		if slices.Contains(prompt, alone) && len(prompt) > 1 {
			return &authError{code: "invalid_request", desc: "The 'prompt' value '" + alone + "' cannot be combined with other values."}
		}
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
	q := r.URL.Query()
	req, aerr := s.parseAuthorize(as, q)
	if aerr == nil {
		s.recordAuthorize(as, q)
	}
	s.authorize(w, r, req, aerr)
}

// authorize answers a parsed authorize request (OpenID Connect or plain
// OAuth 2.0): with the SSO session, by AutoLogin, or with the sign-in form.
// A user whose authenticators cannot satisfy acr_values gets
// unmet_authentication_requirements.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request, req *authRequest, aerr *authError) {
	if aerr != nil {
		s.authorizeError(w, r, aerr)
		return
	}
	sess := s.session(r)
	if sess != nil {
		auths := s.userAuthenticators(sess.userID)
		if _, _, unmet := req.plan(auths); unmet {
			s.authorizeError(w, r, req.unmetError())
			return
		}
		if req.needsLogin(sess, auths, s.now()) {
			sess = nil
		}
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
		var auths []string
		if auto != nil {
			auths = authenticatorsOf(auto)
		}
		s.mu.Unlock()
		if auto == nil {
			http.Redirect(w, r, s.URL+SignInPath+"?fromURI="+url.QueryEscape(r.URL.RequestURI()), http.StatusFound)
			return
		}
		amr, _, unmet := req.plan(auths)
		if unmet {
			s.authorizeError(w, r, req.unmetError())
			return
		}
		sess = s.startSession(w, auto.ID, amr)
	}
	s.completeAuthorize(w, r, req, sess)
}

// userAuthenticators returns the authenticators of the user with id, or
// nil.
func (s *Server) userAuthenticators(id string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u := s.users[id]; u != nil {
		return authenticatorsOf(u)
	}
	return nil
}

// needsLogin reports whether the request demands a fresh sign-in despite
// the session: prompt=login, max_age=0 or exceeded, or acr_values the
// session's sign-in did not satisfy for a user with authenticators.
func (req *authRequest) needsLogin(sess *ssoSession, authenticators []string, now time.Time) bool {
	if slices.Contains(req.prompt, "login") || req.maxAge == 0 || !req.satisfiedBy(sess.amr, authenticators) {
		return true
	}
	return req.maxAge > 0 && now.Sub(sess.authTime) > time.Duration(req.maxAge)*time.Second
}

// completeAuthorize issues a code for the signed-in user and redirects back
// to the client, or sends access_denied if the user is not assigned. With
// prompt=enroll_authenticator the user's authenticators grow by
// enroll_amr_values first; with response_type=none the redirect carries the
// state alone.
func (s *Server) completeAuthorize(w http.ResponseWriter, r *http.Request, req *authRequest, sess *ssoSession) {
	s.mu.Lock()
	u := s.users[sess.userID]
	if u == nil || !req.client.assigned(u.Login) {
		s.mu.Unlock()
		s.authorizeError(w, r, &authError{code: "access_denied", desc: "User is not assigned to the client application.", redirectURI: req.redirectURI, state: req.state})
		return
	}
	req.enroll(u)
	if req.noCode {
		s.mu.Unlock()
		http.Redirect(w, r, withQuery(req.redirectURI, url.Values{"state": {req.state}}), http.StatusFound)
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
