package oktatest

import (
	"crypto/subtle"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// tokenLifetime is the lifetime of access and ID tokens, Okta's default.
const tokenLifetime = time.Hour

// DefaultRefreshGracePeriod is how long a rotated refresh token keeps
// working after the refresh that replaced it, Okta's default.
const DefaultRefreshGracePeriod = 30 * time.Second

// grant is what an access or refresh token stands for.
type grant struct {
	as        *authServer
	clientID  string
	authn     // the user's sign-in; zero for client_credentials
	scopes    []string
	expires   time.Time // zero for refresh tokens
	revoked   bool
	rotatedAt time.Time // refresh tokens: when a refresh replaced it; zero while current
}

// refreshFamily is the chain of refresh tokens that one sign-in's grant
// rotates through, and the access tokens issued along it. Guarded by s.mu.
type refreshFamily struct {
	current string // the refresh token that is not yet rotated
	revoked bool   // reuse was detected: every token of the family is dead
}

// dead reports whether the token of the grant was revoked, itself or with
// its refresh token family. s.mu must be held.
func (g *grant) dead() bool {
	return g.revoked || (g.family != nil && g.family.revoked)
}

// oauthError is a JSON error of the token, revoke and introspect endpoints.
type oauthError struct {
	status     int
	code, desc string
}

// write sends the error as Okta does.
func (e *oauthError) write(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, e.status, map[string]string{"error": e.code, "error_description": e.desc})
}

func invalidClient(desc string) *oauthError {
	return &oauthError{http.StatusUnauthorized, "invalid_client", desc}
}

func invalidGrant(desc string) *oauthError {
	return &oauthError{http.StatusBadRequest, "invalid_grant", desc}
}

func invalidRequest(desc string) *oauthError {
	return &oauthError{http.StatusBadRequest, "invalid_request", desc}
}

// parsePostForm reads a form-encoded POST body.
func parsePostForm(w http.ResponseWriter, r *http.Request) *oauthError {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	ct := r.Header.Get("Content-Type")
	if !strings.HasPrefix(strings.ToLower(ct), "application/x-www-form-urlencoded") {
		return invalidRequest("The request must be form-encoded (application/x-www-form-urlencoded).")
	}
	if err := r.ParseForm(); err != nil {
		return invalidRequest("The request body could not be parsed.")
	}
	return nil
}

// multipleCredentials is Okta's error for a request with more than one
// client authentication.
const multipleCredentials = "Cannot supply multiple client credentials. Use one of the following: credentials in the Authorization header, credentials in the post body, or a client_assertion in the post body."

// authenticateClient authenticates the client of a token, revoke or
// introspect request with exactly the method the client is registered for.
func (s *Server) authenticateClient(r *http.Request) (*clientRec, *oauthError) {
	form := r.PostForm
	if form.Get("client_assertion") != "" || form.Get("client_assertion_type") != "" {
		if _, _, basic := r.BasicAuth(); basic || form.Has("client_secret") {
			return nil, invalidRequest(multipleCredentials)
		}
		return s.authenticateAssertion(r) // private_key_jwt (clientjwt.go)
	}
	id, secret, method, e := requestCredentials(r)
	if e != nil {
		return nil, e
	}
	if id == "" {
		return nil, invalidClient("No client credentials found.")
	}
	s.mu.Lock()
	c := s.clients[id]
	s.mu.Unlock()
	if c == nil {
		return nil, invalidClient("Invalid value for 'client_id' parameter.")
	}
	if c.AuthMethod != method {
		return nil, invalidClient("Client authentication failed: the client is registered for " + c.AuthMethod + ", the request used " + method + ".")
	}
	if method != "none" && subtle.ConstantTimeCompare([]byte(secret), []byte(c.Secret)) != 1 {
		return nil, invalidClient("The client secret supplied for a confidential client is invalid.")
	}
	return c, nil
}

// requestCredentials returns the client id and secret of a request without
// a client assertion, and the method that sent them: client_secret_basic,
// client_secret_post or, with a client_id alone, none.
func requestCredentials(r *http.Request) (id, secret, method string, e *oauthError) {
	form := r.PostForm
	id, secret, basic := r.BasicAuth()
	switch {
	case basic && form.Has("client_secret"):
		return "", "", "", invalidRequest(multipleCredentials)
	case basic:
		var err1, err2 error
		id, err1 = url.QueryUnescape(id)
		secret, err2 = url.QueryUnescape(secret)
		if err1 != nil || err2 != nil {
			return "", "", "", invalidClient("The client credentials in the Authorization header are not form-urlencoded correctly.")
		}
		if fid := form.Get("client_id"); fid != "" && fid != id {
			return "", "", "", invalidRequest("The 'client_id' parameter does not match the authenticated client.")
		}
		return id, secret, "client_secret_basic", nil
	case form.Has("client_secret"):
		return form.Get("client_id"), form.Get("client_secret"), "client_secret_post", nil
	}
	return form.Get("client_id"), "", "none", nil
}

// handleToken serves POST {as}/v1/token.
func (s *Server) handleToken(w http.ResponseWriter, r *http.Request, as *authServer) {
	s.mu.Lock()
	s.tokenRequests++
	s.mu.Unlock()
	if e := parsePostForm(w, r); e != nil {
		e.write(w)
		return
	}
	client, e := s.authenticateClient(r)
	if e != nil {
		if e.status == http.StatusUnauthorized && r.Header.Get("Authorization") != "" {
			w.Header().Set("WWW-Authenticate", `Basic realm="oktatest"`)
		}
		e.write(w)
		return
	}
	var resp map[string]any
	switch gt := r.PostForm.Get("grant_type"); gt {
	case "authorization_code":
		resp, e = s.exchangeCode(r.PostForm, as, client)
	case "refresh_token":
		resp, e = s.refresh(r.PostForm, as, client)
	case "client_credentials":
		resp, e = s.clientCredentials(w, r, as, client)
	case "":
		e = invalidRequest("The 'grant_type' parameter is missing.")
	default:
		e = &oauthError{http.StatusBadRequest, "unsupported_grant_type", "The grant type '" + gt + "' is not supported by the authorization server."}
	}
	if e != nil {
		e.write(w)
		return
	}
	s.mu.Lock()
	mutate := s.mutateTokenResp
	s.mu.Unlock()
	if mutate != nil {
		mutate(resp)
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	writeJSON(w, http.StatusOK, resp)
}

// exchangeCode redeems an authorization code (single use).
func (s *Server) exchangeCode(form url.Values, as *authServer, client *clientRec) (map[string]any, *oauthError) {
	now := s.now()
	s.mu.Lock()
	ac := s.codes[form.Get("code")]
	delete(s.codes, form.Get("code"))
	s.mu.Unlock()
	if ac == nil || ac.req.as != as || ac.req.client.ID != client.ID || now.After(ac.expires) {
		return nil, invalidGrant("The authorization code is invalid or has expired.")
	}
	if form.Get("redirect_uri") != ac.req.redirectURI {
		return nil, invalidGrant("The 'redirect_uri' does not match the redirection URI used in the authorization request.")
	}
	verifier := form.Get("code_verifier")
	if (ac.req.challenge == "") != (verifier == "") || (verifier != "" && s256(verifier) != ac.req.challenge) {
		return nil, invalidGrant("PKCE verification failed.")
	}
	return s.mint(as, client, ac.req.scopes, ac.authn, ac.req.nonce, "")
}

// refresh redeems a refresh token. It stays valid unless refresh token
// rotation is on (the default, see [Server.RotateRefreshTokens]): then the
// response carries a new one and the redeemed one works only for the grace
// period ([Server.SetRefreshGracePeriod]), answering with the family's
// current refresh token; redeeming it after that is reuse, which revokes
// every refresh and access token of the family.
func (s *Server) refresh(form url.Values, as *authServer, client *clientRec) (map[string]any, *oauthError) {
	rt := form.Get("refresh_token")
	now := s.now()
	s.mu.Lock()
	g := s.refreshTokens[rt]
	var user *userRec
	if g != nil {
		user = s.users[g.userID]
	}
	if g == nil || g.dead() || g.as != as || g.clientID != client.ID || user == nil || user.Status != "ACTIVE" {
		s.mu.Unlock()
		return nil, invalidGrant("The refresh token is invalid or expired.")
	}
	scopes := g.scopes
	if sc := form.Get("scope"); sc != "" {
		scopes = strings.Fields(sc)
		for _, x := range scopes {
			if !slices.Contains(g.scopes, x) {
				s.mu.Unlock()
				return nil, &oauthError{http.StatusBadRequest, "invalid_scope", "The requested scope is invalid, unknown, or malformed."}
			}
		}
	}
	reuse := rt
	switch {
	case !s.rotateRefresh:
	case g.rotatedAt.IsZero():
		g.rotatedAt = now // the response carries its successor
		reuse = ""
	case g.family != nil && now.Sub(g.rotatedAt) <= s.refreshGrace:
		reuse = g.family.current // a retry within the grace period
	default:
		s.revokeFamilyLocked(g.family)
		s.mu.Unlock()
		return nil, invalidGrant("The refresh token is invalid or expired.")
	}
	s.mu.Unlock()
	return s.mint(as, client, scopes, g.authn, "", reuse)
}

// revokeFamilyLocked revokes every token of a refresh token family, as
// Okta does when a rotated refresh token is reused after the grace period.
// s.mu must be held.
func (s *Server) revokeFamilyLocked(f *refreshFamily) {
	if f == nil {
		return
	}
	f.revoked = true
	for t, g := range s.refreshTokens {
		if g.family == f {
			delete(s.refreshTokens, t)
		}
	}
}

// clientCredentials issues an access token to a confidential client itself:
// Okta API scopes (okta.…) at the org authorization server, custom scopes
// at custom ones; DPoP-bound when the client requires DPoP (dpop.go).
func (s *Server) clientCredentials(w http.ResponseWriter, r *http.Request, as *authServer, client *clientRec) (map[string]any, *oauthError) {
	if client.AuthMethod == "none" {
		return nil, &oauthError{http.StatusBadRequest, "unauthorized_client", "The client is not authorized to use the provided grant type. Configured grant types: [authorization_code]."}
	}
	scopes := strings.Fields(r.PostForm.Get("scope"))
	for _, sc := range scopes {
		if slices.Contains(scopesSupported, sc) {
			return nil, &oauthError{http.StatusBadRequest, "invalid_scope", "The requested scope '" + sc + "' cannot be used with the client_credentials grant."}
		}
	}
	if e := serviceScopes(as, scopes); e != nil {
		return nil, e
	}
	jkt, e := s.tokenDPoP(w, r, client)
	if e != nil {
		return nil, e
	}
	if jkt != "" {
		return s.issueDPoPToken(as, client, scopes, jkt), nil
	}
	return s.issue(as, client, "", scopes, time.Time{}, "", "")
}

// issue mints the tokens of a sign-in by userID at authTime, or of the
// client itself when userID is empty; see mint.
func (s *Server) issue(as *authServer, client *clientRec, userID string, scopes []string, authTime time.Time, nonce, refreshToken string) (map[string]any, *oauthError) {
	return s.mint(as, client, scopes, authn{userID: userID, authTime: authTime}, nonce, refreshToken)
}

// mint mints an access token, an ID token when the sign-in a has a user
// and the scopes include openid, and a refresh token when they include
// offline_access (reusing refreshToken when set), and returns the token
// response.
func (s *Server) mint(as *authServer, client *clientRec, scopes []string, a authn, nonce, refreshToken string) (map[string]any, *oauthError) {
	userID, authTime := a.userID, a.authTime
	now := s.now()
	s.mu.Lock()
	u := s.URL
	key := as.cur
	var user User
	var updated int64
	if rec := s.users[userID]; rec != nil {
		user, updated = rec.User, rec.updated
	}
	mutate := s.mutateIDToken
	gName, groups, gInID, gInAccess, gErr := "", []string(nil), false, false, (*oauthError)(nil)
	if userID != "" {
		gName, groups, gInID, gInAccess, gErr = s.groupsFor(as, user, scopes)
	}
	s.mu.Unlock()
	if gErr != nil {
		return nil, gErr
	}

	at := accessTokenClaims(as, u, client.ID, scopes, now)
	if userID != "" {
		at["uid"] = userID
		at["sub"] = user.Login
		at["auth_time"] = authTime.Unix()
		if gInAccess {
			at[gName] = groups
		}
	} else {
		at["sub"] = client.ID
	}
	accessToken := signJWT(key, at)
	resp := map[string]any{
		"token_type":   "Bearer",
		"expires_in":   int(tokenLifetime / time.Second),
		"access_token": accessToken,
		"scope":        strings.Join(scopes, " "),
	}
	g := &grant{as: as, clientID: client.ID, authn: a, scopes: scopes}
	if userID != "" && slices.Contains(scopes, "openid") {
		claims := s.idClaims(as, u, client.ID, user, updated, scopes, now, a, nonce, accessToken)
		resp["id_token"] = s.signIDToken(key, claims, gName, groups, gInID, mutate)
	}
	if rt := s.storeGrant(g, accessToken, refreshToken, now); rt != "" {
		resp["refresh_token"] = rt
	}
	return resp, nil
}

// signIDToken signs an ID token with claims, setting the groups claim
// gName when inID, and passing it through mutate (see
// [Server.MutateIDToken]) when set.
func (s *Server) signIDToken(key signingKey, claims map[string]any, gName string, groups []string, inID bool, mutate func(*Token)) string {
	idToken := &Token{
		Header: map[string]any{"alg": key.alg(), "kid": key.kid, "typ": "JWT"},
		Claims: claims,
	}
	delete(idToken.Claims, "groups")
	if inID {
		idToken.Claims[gName] = groups
	}
	if mutate != nil {
		mutate(idToken)
	}
	var rogue signingKey
	if idToken.Sign == SignUnknownKey || idToken.Sign == SignWrongKeySameKid {
		rogue = s.rogueKey(key.alg())
	}
	return signToken(idToken, key, rogue)
}

// storeGrant records accessToken for g, dropping expired access tokens,
// and returns the refresh token of a user's grant with offline_access:
// refreshToken when set, else a new one for g. It returns "" when the
// grant gets no refresh token.
func (s *Server) storeGrant(g *grant, accessToken, refreshToken string, now time.Time) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	offline := g.userID != "" && slices.Contains(g.scopes, "offline_access")
	if offline && g.family == nil {
		g.family = &refreshFamily{}
	}
	ag := *g
	ag.expires = now.Add(tokenLifetime)
	s.accessTokens[accessToken] = &ag
	for t, x := range s.accessTokens {
		if now.After(x.expires) {
			delete(s.accessTokens, t)
		}
	}
	if !offline {
		return ""
	}
	if refreshToken == "" {
		refreshToken = randomToken()
		s.refreshTokens[refreshToken] = g
		g.family.current = refreshToken
	}
	return refreshToken
}

// accessTokenClaims returns the claims every access token of as carries
// (Okta's custom-server shape); callers add sub, uid and the rest.
func accessTokenClaims(as *authServer, base, clientID string, scopes []string, now time.Time) map[string]any {
	return map[string]any{
		"ver": 1,
		"jti": "AT." + randomID("", 43),
		"iss": as.issuer(base),
		"aud": as.accessAudience(base),
		"iat": now.Unix(),
		"exp": now.Add(tokenLifetime).Unix(),
		"cid": clientID,
		"scp": scopes,
	}
}

// idClaims returns the claims of an ID token, as Okta issues them.
// amr, acr and sid come from the sign-in a.
func (s *Server) idClaims(as *authServer, u, clientID string, user User, updated int64, scopes []string, now time.Time, a authn, nonce, accessToken string) map[string]any {
	amr := slices.Clone(a.amr) // the mutation hook may edit it
	if len(amr) == 0 {
		amr = []string{"pwd"}
	}
	c := map[string]any{
		"ver":       1,
		"sub":       user.ID,
		"iss":       as.issuer(u),
		"aud":       clientID,
		"iat":       now.Unix(),
		"exp":       now.Add(tokenLifetime).Unix(),
		"jti":       "ID." + randomID("", 43),
		"amr":       amr,
		"idp":       s.orgID,
		"auth_time": a.authTime.Unix(),
	}
	if a.acr != "" {
		c["acr"] = a.acr
	}
	if a.sid != "" {
		c["sid"] = a.sid
	}
	if nonce != "" {
		c["nonce"] = nonce
	}
	if accessToken != "" {
		c["at_hash"] = atHash(accessToken)
	}
	for k, v := range scopeClaims(user, updated, scopes) {
		c[k] = v
	}
	return c
}

// scopeClaims returns the profile, email and groups claims of a user that
// the scopes grant.
func scopeClaims(user User, updated int64, scopes []string) map[string]any {
	c := map[string]any{}
	if slices.Contains(scopes, "profile") {
		c["name"] = strings.TrimSpace(user.FirstName + " " + user.LastName)
		c["preferred_username"] = user.Login
		c["given_name"] = user.FirstName
		c["family_name"] = user.LastName
		c["locale"] = "en-US"
		c["zoneinfo"] = "America/Los_Angeles"
		c["updated_at"] = updated
	}
	if slices.Contains(scopes, "email") {
		c["email"] = user.Email
		c["email_verified"] = true
	}
	if slices.Contains(scopes, "groups") {
		c["groups"] = (&userRec{User: user}).groups()
	}
	return c
}

// MutateIDToken makes fn edit every ID token before it is signed, until
// called again with nil. fn receives the header, every claim (ver, sub, iss,
// aud, iat, exp, jti, amr, idp, auth_time, sid, acr, nonce, at_hash and the
// scope claims) and the signing mode; it is called without locks held.
func (s *Server) MutateIDToken(fn func(*Token)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mutateIDToken = fn
}

// MutateTokenResponse makes fn edit every successful token response (of
// every grant and authorization server) before it is served, until called
// again with nil: fn may change, add or delete any member, such as
// "token_type". The tokens in it are already issued. fn is called without
// locks held.
func (s *Server) MutateTokenResponse(fn func(resp map[string]any)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mutateTokenResp = fn
}

// RotateRefreshTokens turns refresh token rotation on (the default, as for
// new Okta apps) or off. When on, a refresh returns a new refresh token;
// the redeemed one still works during the grace period
// ([Server.SetRefreshGracePeriod]), for clients that retry or race, and
// then answers with the newest refresh token of its family. Redeemed after
// the grace period it is reuse: the refresh gets invalid_grant and every
// refresh and access token descended from the same sign-in is revoked.
// When off, a refresh token stays valid and refreshes return it again.
// Refreshes return a new ID token with the iss, sub, aud, auth_time, amr,
// acr and sid of the sign-in, and no nonce.
func (s *Server) RotateRefreshTokens(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rotateRefresh = on
}

// SetRefreshGracePeriod sets how long a rotated refresh token keeps
// working (DefaultRefreshGracePeriod unless set; Okta allows 0 to 60
// seconds). It panics outside that range.
func (s *Server) SetRefreshGracePeriod(d time.Duration) {
	if d < 0 || d > time.Minute {
		panic("oktatest: SetRefreshGracePeriod: the grace period must be between 0 and 60 seconds")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refreshGrace = d
}
