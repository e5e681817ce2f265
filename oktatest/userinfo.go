package oktatest

import (
	"net/http"
	"slices"
	"strings"
)

// MutateUserInfo makes fn edit every userinfo response before it is sent,
// until called again with nil. fn is called without locks held.
func (s *Server) MutateUserInfo(fn func(claims map[string]any)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mutateUserInfo = fn
}

// handleUserInfo serves GET and POST {as}/v1/userinfo.
func (s *Server) handleUserInfo(w http.ResponseWriter, r *http.Request, as *authServer) {
	deny := func(status int, code, desc string) {
		w.Header().Set("WWW-Authenticate", `Bearer error="`+code+`", error_description="`+desc+`"`)
		w.Header().Set("Cache-Control", "no-store")
		writeJSON(w, status, map[string]string{"error": code, "error_description": desc})
	}
	scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, "Bearer") || token == "" {
		deny(http.StatusUnauthorized, "invalid_token", "The access token is missing.")
		return
	}
	now := s.now()
	s.mu.Lock()
	g := s.accessTokens[token]
	var user User
	var updated int64
	var gName string
	var groups []string
	var gIn bool
	ok := g != nil && g.as == as && !g.dead() && !now.After(g.expires)
	if ok {
		rec := s.users[g.userID]
		ok = rec != nil && rec.Status == "ACTIVE"
		if ok {
			user, updated = rec.User, rec.updated
			gName, groups, gIn, _, _ = s.groupsFor(as, user, g.scopes)
		}
	}
	fn := s.mutateUserInfo
	s.mu.Unlock()
	if !ok {
		deny(http.StatusUnauthorized, "invalid_token", "The access token is invalid.")
		return
	}
	if !slices.Contains(g.scopes, "openid") {
		deny(http.StatusForbidden, "insufficient_scope", "The access token must provide access to at least one of these scopes - profile, email, address, phone or openid.")
		return
	}
	claims := scopeClaims(user, updated, g.scopes)
	delete(claims, "groups")
	if gIn {
		claims[gName] = groups
	}
	claims["sub"] = user.ID
	if fn != nil {
		fn(claims)
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, claims)
}

// lookupToken returns the grant of an access or refresh token issued by as
// to client, and whether it is a refresh token. s.mu must be held.
func (s *Server) lookupTokenLocked(token string, as *authServer, client *clientRec) (*grant, bool) {
	if g := s.accessTokens[token]; g != nil && g.as == as && g.clientID == client.ID {
		return g, false
	}
	if g := s.refreshTokens[token]; g != nil && g.as == as && g.clientID == client.ID {
		return g, true
	}
	return nil, false
}

// handleRevoke serves POST {as}/v1/revoke (RFC 7009): the token, if it is
// the client's, is revoked; the answer is 200 either way.
func (s *Server) handleRevoke(w http.ResponseWriter, r *http.Request, as *authServer) {
	client, token, e := s.tokenOperation(w, r)
	if e != nil {
		e.write(w)
		return
	}
	s.mu.Lock()
	if g, _ := s.lookupTokenLocked(token, as, client); g != nil {
		g.revoked = true
	}
	s.mu.Unlock()
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
}

// handleIntrospect serves POST {as}/v1/introspect (RFC 7662).
func (s *Server) handleIntrospect(w http.ResponseWriter, r *http.Request, as *authServer) {
	client, token, e := s.tokenOperation(w, r)
	if e != nil {
		e.write(w)
		return
	}
	now := s.now()
	resp := map[string]any{"active": false}
	s.mu.Lock()
	g, refresh := s.lookupTokenLocked(token, as, client)
	if g != nil && !g.dead() && (refresh || !now.After(g.expires)) {
		resp = map[string]any{
			"active":     true,
			"scope":      strings.Join(g.scopes, " "),
			"client_id":  g.clientID,
			"token_type": "Bearer",
			"iss":        as.issuer(s.URL),
			"sub":        g.clientID,
		}
		if refresh {
			resp["token_type"] = "refresh_token"
		} else {
			resp["exp"] = g.expires.Unix()
			resp["aud"] = as.accessAudience(s.URL)
		}
		if u := s.users[g.userID]; u != nil {
			resp["uid"] = u.ID
			resp["sub"] = u.Login
			resp["username"] = u.Login
		}
	}
	s.mu.Unlock()
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, resp)
}

// tokenOperation parses a revoke or introspect request and authenticates
// its client.
func (s *Server) tokenOperation(w http.ResponseWriter, r *http.Request) (*clientRec, string, *oauthError) {
	if e := parsePostForm(w, r); e != nil {
		return nil, "", e
	}
	client, e := s.authenticateClient(r)
	if e != nil {
		return nil, "", e
	}
	token := r.PostForm.Get("token")
	if token == "" {
		return nil, "", invalidRequest("The 'token' parameter is missing.")
	}
	return client, token, nil
}
