package oktatest

import (
	"hash/fnv"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Paths of the fake's GitHub-like plain OAuth 2.0 provider, which every
// Server serves next to its Okta endpoints. It is not an OpenID provider:
// no discovery, no ID token, no nonce; the user is read from PlainUserPath.
// It shares the org's users, clients (their RedirectURIs, AuthMethod and
// assignments), SSO session, sign-in form and [Server.AutoLogin].
//
// Unlike GitHub, it requires PKCE (S256) on every authorize request. Like
// GitHub, the token endpoint answers errors with status 200, and in
// form encoding unless the request accepts JSON.
const (
	PlainAuthorizePath = "/login/oauth/authorize"
	PlainTokenPath     = "/login/oauth/access_token"
	PlainUserPath      = "/user"
)

// plainTokenLifetime is how long the fake's plain access tokens work.
const plainTokenLifetime = 8 * time.Hour

// PlainOAuth2 holds the endpoint URLs of the fake's plain OAuth 2.0
// provider.
type PlainOAuth2 struct {
	AuthURL, TokenURL, UserInfoURL string
}

// PlainOAuth2 returns the URLs of the GitHub-like provider. Its
// PlainUserPath answers, for a token it issued,
//
//	{"id": 123456, "login": "alice", "name": "Alice Example",
//	 "email": "alice@example.com", "type": "User", "node_id": "U_…"}
//
// where id is a number stable per user and login the part of the Okta
// login before "@". [Server.MutateUserInfo] edits these responses too. It
// panics before Start.
func (s *Server) PlainOAuth2() PlainOAuth2 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.started {
		panic("oktatest: PlainOAuth2 called before Start")
	}
	return PlainOAuth2{AuthURL: s.URL + PlainAuthorizePath, TokenURL: s.URL + PlainTokenPath, UserInfoURL: s.URL + PlainUserPath}
}

// PlainUserID returns the numeric id the plain provider gives the user
// with login, as text (how oktasso keeps it), or "" for an unknown login.
func (s *Server) PlainUserID(login string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.userByLoginLocked(login)
	if u == nil {
		return ""
	}
	return strconv.FormatUint(plainNumericID(u.ID), 10)
}

func (s *Server) plainRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET "+PlainAuthorizePath, s.handlePlainAuthorize)
	mux.HandleFunc("POST "+PlainTokenPath, s.handlePlainToken)
	mux.HandleFunc("GET "+PlainUserPath, s.handlePlainUser)
}

// clientByID returns the registered client with id, or nil.
func (s *Server) clientByID(id string) *clientRec {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.clients[id]
}

// parsePlainAuthorize validates a plain authorize request: a known client,
// a registered redirect URI, state and an S256 code challenge. Scopes are
// taken as sent. Errors before the redirect URI is trusted are pages.
func (s *Server) parsePlainAuthorize(q url.Values) (*authRequest, *authError) {
	client := s.clientByID(q.Get("client_id"))
	if client == nil {
		return nil, &authError{page: true, code: "invalid_client", desc: "The client_id is not registered."}
	}
	req := &authRequest{
		client: client, redirectURI: q.Get("redirect_uri"), state: q.Get("state"),
		challenge: q.Get("code_challenge"), loginHint: q.Get("login"), scopes: strings.Fields(q.Get("scope")), maxAge: -1,
	}
	if !slices.Contains(client.RedirectURIs, req.redirectURI) {
		return nil, &authError{page: true, code: "redirect_uri_mismatch", desc: "The redirect_uri MUST match the registered callback URL for this application."}
	}
	fail := func(desc string) (*authRequest, *authError) {
		return nil, &authError{code: "invalid_request", desc: desc, redirectURI: req.redirectURI, state: req.state}
	}
	switch {
	case req.state == "":
		return fail("The state parameter is missing.")
	case q.Get("code_challenge_method") != "S256" || !validChallenge(req.challenge):
		return fail("This provider requires PKCE: code_challenge_method S256 and a code_challenge.")
	}
	return req, nil
}

// resolvePlain is resolveFromURI for the plain authorize path.
func (s *Server) resolvePlain(rawQuery string, bad *authError) (*authRequest, *authError) {
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return nil, bad
	}
	req, aerr := s.parsePlainAuthorize(q)
	if aerr != nil {
		aerr.page = true
	}
	return req, aerr
}

// handlePlainAuthorize serves GET PlainAuthorizePath.
func (s *Server) handlePlainAuthorize(w http.ResponseWriter, r *http.Request) {
	req, aerr := s.parsePlainAuthorize(r.URL.Query())
	s.authorize(w, r, req, aerr)
}

// handlePlainToken serves POST PlainTokenPath: the code, its client, its
// redirect URI and the PKCE verifier must match. Errors come with status
// 200, as GitHub sends them.
func (s *Server) handlePlainToken(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.tokenRequests++
	s.mu.Unlock()
	reply := func(v url.Values) {
		w.Header().Set("Cache-Control", "no-store")
		if strings.Contains(r.Header.Get("Accept"), "application/json") {
			m := map[string]string{}
			for k := range v {
				m[k] = v.Get(k)
			}
			writeJSON(w, http.StatusOK, m)
			return
		}
		w.Header().Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
		w.Write([]byte(v.Encode()))
	}
	fail := func(code, desc string) { reply(url.Values{"error": {code}, "error_description": {desc}}) }
	if e := parsePostForm(w, r); e != nil {
		fail(e.code, e.desc)
		return
	}
	client, e := s.authenticateClient(r)
	if e != nil {
		fail("incorrect_client_credentials", "The client_id and/or client_secret passed are incorrect.")
		return
	}
	form := r.PostForm
	now := s.now()
	s.mu.Lock()
	ac := s.codes[form.Get("code")]
	delete(s.codes, form.Get("code"))
	s.mu.Unlock()
	verifier := form.Get("code_verifier")
	switch {
	case ac == nil || ac.req.as != nil || ac.req.client.ID != client.ID || now.After(ac.expires):
		fail("bad_verification_code", "The code passed is incorrect or expired.")
		return
	case form.Get("redirect_uri") != "" && form.Get("redirect_uri") != ac.req.redirectURI:
		fail("redirect_uri_mismatch", "The redirect_uri MUST match the registered callback URL for this application.")
		return
	case verifier == "" || s256(verifier) != ac.req.challenge:
		fail("bad_verification_code", "The code_verifier does not match the code_challenge.")
		return
	}
	token := "gho_" + randomID("", 36)
	s.mu.Lock()
	s.accessTokens[token] = &grant{clientID: client.ID, authn: ac.authn, scopes: ac.req.scopes, expires: now.Add(plainTokenLifetime)}
	s.mu.Unlock()
	reply(url.Values{"access_token": {token}, "token_type": {"bearer"}, "scope": {strings.Join(ac.req.scopes, ",")}})
}

// handlePlainUser serves GET PlainUserPath with "Authorization: Bearer
// <token>" (or GitHub's "token <token>").
func (s *Server) handlePlainUser(w http.ResponseWriter, r *http.Request) {
	scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	now := s.now()
	s.mu.Lock()
	g := s.accessTokens[token]
	var rec *userRec
	if g != nil && g.as == nil && !g.revoked && now.Before(g.expires) {
		rec = s.users[g.userID]
	}
	var user User
	if rec != nil && rec.Status == "ACTIVE" {
		user = rec.User
	}
	fn := s.mutateUserInfo
	s.mu.Unlock()
	w.Header().Set("Cache-Control", "no-store")
	if (!strings.EqualFold(scheme, "Bearer") && !strings.EqualFold(scheme, "token")) || user.ID == "" {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"})
		return
	}
	login, _, _ := strings.Cut(user.Login, "@")
	claims := map[string]any{
		"id": plainNumericID(user.ID), "node_id": "U_" + user.ID, "login": login, "type": "User",
		"name": strings.TrimSpace(user.FirstName + " " + user.LastName), "email": user.Email,
	}
	if fn != nil {
		fn(claims)
	}
	writeJSON(w, http.StatusOK, claims)
}

// plainNumericID maps a user id to a stable positive number, as GitHub's
// ids are.
func plainNumericID(id string) uint64 {
	h := fnv.New32a()
	h.Write([]byte(id))
	return uint64(h.Sum32()) + 1
}
