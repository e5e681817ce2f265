package oktatest

import (
	"net/http"
	"slices"
	"strings"
	"time"
)

// apiAuth authenticates a Management API request and checks that it may
// use an endpoint needing scope ("" for any). It accepts SSWS API tokens
// and access tokens of the org authorization server from client_credentials
// grants of clients with an admin role, as Bearer tokens or, when
// DPoP-bound, with the DPoP scheme and a proof.
func (s *Server) apiAuth(r *http.Request, scope string) *apiError {
	scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	token = strings.TrimSpace(token)
	if token == "" {
		return invalidToken("", "The request has no credentials.")
	}
	switch {
	case strings.EqualFold(scheme, "SSWS"):
		s.mu.Lock()
		ok := s.api.tokens[token]
		s.mu.Unlock()
		if !ok {
			return invalidToken("", "The API token is unknown or revoked.")
		}
		return nil
	case strings.EqualFold(scheme, "Bearer"), strings.EqualFold(scheme, "DPoP"):
		return s.apiOAuth(r, strings.EqualFold(scheme, "DPoP"), token, scope)
	}
	return invalidToken("", "Unsupported authorization scheme "+scheme+".")
}

// apiOAuth checks an OAuth access token presented to the Management API.
func (s *Server) apiOAuth(r *http.Request, dpop bool, token, scope string) *apiError {
	now := s.now()
	s.mu.Lock()
	var g grant
	found := false
	if p := s.accessTokens[token]; p != nil {
		g, found = *p, true
	}
	bound := s.api.dpop.bound[token]
	var admin bool
	if c := s.clients[g.clientID]; c != nil {
		admin = c.AdminRole
	}
	s.mu.Unlock()
	scheme := "Bearer"
	if dpop {
		scheme = "DPoP"
	}
	if !found || g.as != s.org || g.revoked || now.After(g.expires) {
		return invalidToken(scheme, "The access token is invalid or expired, or not from the org authorization server.")
	}
	if e := s.checkAPIBinding(r, dpop, token, bound.jkt, now); e != nil {
		return e
	}
	if g.userID != "" || !admin {
		return forbidden(scheme, "", "The client application has no admin role.")
	}
	if scope != "" && !hasAPIScope(g.scopes, scope) {
		return forbidden(scheme, scope, "The access token does not grant the scope "+scope+".")
	}
	return nil
}

// checkAPIBinding checks the scheme an access token came with: Bearer for
// a token not bound to a DPoP key (jkt ""), DPoP with a valid, unused
// proof by the key of thumbprint jkt for a bound one.
func (s *Server) checkAPIBinding(r *http.Request, dpop bool, token, jkt string, now time.Time) *apiError {
	switch {
	case dpop && jkt == "":
		return invalidToken("DPoP", "The access token is not DPoP-bound: use the Bearer scheme.")
	case !dpop && jkt != "":
		return invalidToken("DPoP", "The access token is DPoP-bound: use the DPoP scheme with a DPoP proof.")
	case !dpop:
		return nil
	}
	proof, desc := s.verifyDPoPProof(r, token)
	switch {
	case desc != "":
	case proof.jkt != jkt:
		desc = "The DPoP proof key does not match the key the access token is bound to."
	case !s.useDPoPJTI(proof.jti, now):
		desc = "The DPoP proof 'jti' has already been used."
	}
	if desc == "" {
		return nil
	}
	e := apiErr(http.StatusUnauthorized, "E0000011", "Invalid token provided", desc)
	e.authenticate = `DPoP algs="RS256 ES256", error="invalid_dpop_proof", error_description="` + desc + `"`
	return e
}

// hasAPIScope reports whether scopes grant need ("okta.users.read" is also
// granted by "okta.users.manage").
func hasAPIScope(scopes []string, need string) bool {
	return slices.Contains(scopes, need) || slices.Contains(scopes, strings.TrimSuffix(need, ".read")+".manage")
}

// invalidToken is the 401 E0000011 of the Management API; scheme, if set,
// names the WWW-Authenticate challenge.
func invalidToken(scheme, desc string) *apiError {
	e := apiErr(http.StatusUnauthorized, "E0000011", "Invalid token provided", desc)
	if scheme != "" {
		e.authenticate = scheme + ` error="invalid_token", error_description="` + desc + `"`
	}
	return e
}

// forbidden is the 403 E0000006 of the Management API.
func forbidden(scheme, scope, desc string) *apiError {
	e := apiErr(http.StatusForbidden, "E0000006", "You do not have permission to perform the requested action", desc)
	if scope != "" {
		e.authenticate = scheme + ` error="insufficient_scope", error_description="` + desc + `", scope="` + scope + `"`
	}
	return e
}

// serviceScopes checks the scopes of a client_credentials request: the org
// authorization server grants only Okta API scopes ("okta.…", at least
// one), custom authorization servers never grant them.
func serviceScopes(as *authServer, scopes []string) *oauthError {
	if as.id == "" && len(scopes) == 0 {
		return &oauthError{http.StatusBadRequest, "invalid_scope", "The authorization server resource does not have any configured default scopes, 'scope' must be provided."}
	}
	for _, sc := range scopes {
		if strings.HasPrefix(sc, "okta.") != (as.id == "") {
			return &oauthError{http.StatusBadRequest, "invalid_scope", "The requested scope '" + sc + "' is invalid, unknown, or malformed."}
		}
	}
	return nil
}
