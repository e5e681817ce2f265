package oktatest

import (
	"crypto/subtle"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// formTokenLifetime bounds how long a rendered sign-in form may be posted.
const formTokenLifetime = 15 * time.Minute

// VerificationCode is the one code the fake's "Verify with code" step
// accepts. The sign-in form asks for it, after the password, when the
// authorize request's acr_values asks for two factors (e.g.
// "urn:okta:loa:2fa:any"); the ID token then has "amr" ["pwd","mfa"].
// [Server.AutoLogin] skips both steps.
const VerificationCode = "123456"

// formToken is the per-render anti-forgery token of a sign-in form, bound to
// the authorize request the form continues and, on the code step, to the
// user who has given the right password.
type formToken struct {
	fromURI string
	userID  string // set on the code step
	expires time.Time
}

// resolveFromURI validates the authorize request carried by the sign-in
// form: it must be the path of a known authorize endpoint with a query that
// passes authorize validation in full.
func (s *Server) resolveFromURI(fromURI string) (*authRequest, *authError) {
	bad := &authError{page: true, code: "invalid_request", desc: "The sign-in request is missing or invalid. Start again from the application."}
	u, err := url.Parse(fromURI)
	if err != nil || u.Scheme != "" || u.Host != "" || u.Opaque != "" {
		return nil, bad
	}
	if u.Path == PlainAuthorizePath {
		return s.resolvePlain(u.RawQuery, bad)
	}
	var as *authServer
	switch rest, ok := strings.CutPrefix(u.Path, "/oauth2/"); {
	case !ok:
	case rest == "v1/authorize":
		as = s.org
	case strings.HasSuffix(rest, "/v1/authorize"):
		as = s.lookupAuthServer(strings.TrimSuffix(rest, "/v1/authorize"))
	}
	if as == nil {
		return nil, bad
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return nil, bad
	}
	req, aerr := s.parseAuthorize(as, q)
	if aerr != nil {
		aerr.page = true
		return nil, aerr
	}
	return req, nil
}

// handleSignInForm serves GET SignInPath?fromURI=….
func (s *Server) handleSignInForm(w http.ResponseWriter, r *http.Request) {
	fromURI := r.URL.Query().Get("fromURI")
	req, aerr := s.resolveFromURI(fromURI)
	if aerr != nil {
		s.authorizeError(w, r, aerr)
		return
	}
	s.renderSignIn(w, http.StatusOK, fromURI, req.loginHint, "")
}

// handleSignIn serves POST SignInPath: checks the form's origin and token,
// the credentials, then starts an SSO session and continues the authorize
// request.
func (s *Server) handleSignIn(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		renderError(w, http.StatusBadRequest, "invalid_request", "The sign-in form could not be read.")
		return
	}
	if !s.sameOrigin(r) {
		renderError(w, http.StatusForbidden, "access_denied", "Cross-origin sign-in requests are refused.")
		return
	}
	fromURI := r.PostForm.Get("fromURI")
	req, aerr := s.resolveFromURI(fromURI)
	if aerr != nil {
		s.authorizeError(w, r, aerr)
		return
	}
	if r.PostForm.Has("code") {
		s.handleVerifyCode(w, r, req, fromURI)
		return
	}
	login := strings.TrimSpace(r.PostForm.Get("username"))
	if ft, ok := s.consumeFormToken(r.PostForm.Get("token"), fromURI); !ok || ft.userID != "" {
		s.renderSignIn(w, http.StatusForbidden, fromURI, login, "This sign-in form has expired. Please sign in again.")
		return
	}
	s.mu.Lock()
	u := s.userByLoginLocked(login)
	ok := u != nil && u.Status == "ACTIVE" && u.Password != "" &&
		subtle.ConstantTimeCompare([]byte(u.Password), []byte(r.PostForm.Get("password"))) == 1
	var userID string
	var auths []string
	if ok {
		userID, auths = u.ID, authenticatorsOf(u)
	}
	s.mu.Unlock()
	if !ok {
		s.renderSignIn(w, http.StatusUnauthorized, fromURI, login, "Unable to sign in: the username or password is wrong, or the account is not active.")
		return
	}
	amr, step, unmet := req.plan(auths)
	switch {
	case unmet:
		s.authorizeError(w, r, req.unmetError())
	case step:
		s.renderVerify(w, http.StatusOK, fromURI, userID, "")
	default:
		s.completeAuthorize(w, r, req, s.startSession(w, userID, amr))
	}
}

// handleVerifyCode serves the POST of the "Verify with code" step: the
// form token names the user who gave the right password.
func (s *Server) handleVerifyCode(w http.ResponseWriter, r *http.Request, req *authRequest, fromURI string) {
	ft, ok := s.consumeFormToken(r.PostForm.Get("token"), fromURI)
	if !ok || ft.userID == "" {
		s.renderSignIn(w, http.StatusForbidden, fromURI, "", "This sign-in form has expired. Please sign in again.")
		return
	}
	s.mu.Lock()
	u := s.users[ft.userID]
	active := u != nil && u.Status == "ACTIVE"
	var auths []string
	if active {
		auths = authenticatorsOf(u)
	}
	s.mu.Unlock()
	if !active {
		s.renderSignIn(w, http.StatusUnauthorized, fromURI, "", "Unable to sign in: the account is not active.")
		return
	}
	code := strings.TrimSpace(r.PostForm.Get("code"))
	if subtle.ConstantTimeCompare([]byte(code), []byte(VerificationCode)) != 1 {
		s.renderVerify(w, http.StatusUnauthorized, fromURI, ft.userID, "That code is not right. Try again.")
		return
	}
	amr, _, unmet := req.plan(auths)
	if unmet { // the user's authenticators changed since the password step
		s.authorizeError(w, r, req.unmetError())
		return
	}
	s.completeAuthorize(w, r, req, s.startSession(w, ft.userID, amr))
}

// sameOrigin reports whether a form POST comes from this server's own
// pages, judged by the Origin and Sec-Fetch-Site headers browsers send.
// Requests without either header (non-browser clients) pass; they still
// need a valid form token.
func (s *Server) sameOrigin(r *http.Request) bool {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
		return false
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.EqualFold(origin, s.URL)
}

// newFormToken records and returns a token for one rendering of the form,
// or of the code step for userID.
func (s *Server) newFormToken(fromURI, userID string) string {
	tok := randomToken()
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	for t, ft := range s.formTokens {
		if now.After(ft.expires) {
			delete(s.formTokens, t)
		}
	}
	s.formTokens[tok] = formToken{fromURI: fromURI, userID: userID, expires: now.Add(formTokenLifetime)}
	return tok
}

// consumeFormToken returns the token tok and whether it was rendered for
// fromURI and has not expired, and makes it unusable.
func (s *Server) consumeFormToken(tok, fromURI string) (formToken, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ft, ok := s.formTokens[tok]
	delete(s.formTokens, tok)
	return ft, ok && ft.fromURI == fromURI && !s.now().After(ft.expires)
}

// renderSignIn renders the sign-in form with a fresh token.
func (s *Server) renderSignIn(w http.ResponseWriter, status int, fromURI, login, msg string) {
	s.mu.Lock()
	demo := append([]User(nil), s.demo...)
	s.mu.Unlock()
	renderPage(w, status, "signin", signInData{
		Action:   SignInPath,
		FromURI:  fromURI,
		Token:    s.newFormToken(fromURI, ""),
		Username: login,
		Error:    msg,
		Demo:     demo,
	})
}

// renderVerify renders the "Verify with code" step for userID.
func (s *Server) renderVerify(w http.ResponseWriter, status int, fromURI, userID, msg string) {
	renderPage(w, status, "verify", signInData{
		Action:  SignInPath,
		FromURI: fromURI,
		Token:   s.newFormToken(fromURI, userID),
		Error:   msg,
		Code:    VerificationCode,
	})
}
