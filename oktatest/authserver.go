package oktatest

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// authServer is the org authorization server (id "") or a custom one.
type authServer struct {
	id       string
	audience string // custom servers only; the org server uses its issuer
	alg      string // "RS256" (also when empty) or "ES256"
	cur      signingKey
	next     signingKey  // published in JWKS, not yet signing
	prev     *signingKey // still published after a rotation
	scopes   []string    // custom scopes users may be granted (AddScopes)
}

// scopesSupported are the OpenID Connect scopes; every authorization server
// accepts them, except "groups", which a custom authorization server
// accepts only once defined ([Server.AddScopes]).
var scopesSupported = []string{"openid", "profile", "email", "address", "phone", "offline_access", "groups"}

// knownScopes returns the scopes authorize requests may ask of the
// authorization server. s.mu must be held.
func (as *authServer) knownScopes() []string {
	if as.id == "" {
		return slices.Concat(scopesSupported, as.scopes)
	}
	base := slices.DeleteFunc(slices.Clone(scopesSupported), func(sc string) bool { return sc == "groups" })
	return slices.Concat(base, as.scopes)
}

// newAuthServer creates an authorization server with a signing and a next
// key. s.mu must be held, or s not yet shared.
func (s *Server) newAuthServer(id, audience string) *authServer {
	return &authServer{id: id, audience: audience, cur: s.allocKey(""), next: s.allocKey("")}
}

// allocKey hands out a key for alg with a fresh kid: for RS256 (or "") a
// pool key this server has not used yet, for ES256 a new P-256 key. s.mu
// must be held, or s not yet shared.
func (s *Server) allocKey(alg string) signingKey {
	if alg == "ES256" {
		return signingKey{kid: newKid(), ec: newP256Key()}
	}
	k := signingKey{kid: newKid(), key: poolKey(s.nextKey)}
	s.nextKey++
	return k
}

// warmNextKeys generates, without holding s.mu, the next n keys allocKey
// will hand out, so that requests are not blocked by key generation.
func (s *Server) warmNextKeys(n int) {
	s.mu.Lock()
	from := s.nextKey
	s.mu.Unlock()
	warmKeys(from, from+n)
}

// rogueKey returns a key for alg that this server never publishes.
func (s *Server) rogueKey(alg string) signingKey {
	if alg == "ES256" {
		return signingKey{kid: s.rogueKid, ec: ecRogue()}
	}
	return signingKey{kid: s.rogueKid, key: poolKey(0)}
}

// published returns the keys in the authorization server's JWKS, signing key
// first.
func (as *authServer) published() []signingKey {
	keys := []signingKey{as.cur, as.next}
	if as.prev != nil {
		keys = append(keys, *as.prev)
	}
	return keys
}

// issuer returns the authorization server's issuer for base URL u.
func (as *authServer) issuer(u string) string {
	if as.id == "" {
		return u
	}
	return u + "/oauth2/" + as.id
}

// endpoint returns the URL of one of the authorization server's endpoints.
func (as *authServer) endpoint(u, name string) string {
	if as.id == "" {
		return u + "/oauth2/v1/" + name
	}
	return u + "/oauth2/" + as.id + "/v1/" + name
}

// accessAudience returns the aud claim of the server's access tokens.
func (as *authServer) accessAudience(u string) string {
	if as.id == "" {
		return u
	}
	return as.audience
}

// authServerLocked returns the authorization server id ("" is the org
// authorization server), or nil. s.mu must be held.
func (s *Server) authServerLocked(id string) *authServer {
	if id == "" {
		return s.org
	}
	return s.custom[id]
}

// lookupAuthServer returns the custom authorization server id, or nil.
func (s *Server) lookupAuthServer(id string) *authServer {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.custom[id]
}

// Issuer returns the issuer of the org authorization server, which is URL.
func (s *Server) Issuer() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.URL
}

// CustomIssuer returns the issuer of the custom authorization server id,
// URL+"/oauth2/"+id. It panics if no such authorization server exists.
func (s *Server) CustomIssuer(id string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.custom[id] == nil {
		panic("oktatest: unknown authorization server " + id)
	}
	return s.URL + "/oauth2/" + id
}

// AddAuthServer adds a custom authorization server with its own keys whose
// access tokens carry audience as "aud". It panics if id is empty, "v1",
// contains a slash or already exists, or if audience is empty.
func (s *Server) AddAuthServer(id, audience string) {
	if id == "" || id == "v1" || strings.ContainsAny(id, "/?#") || audience == "" {
		panic("oktatest: AddAuthServer: invalid id or empty audience")
	}
	s.warmNextKeys(2)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.custom[id] != nil {
		panic("oktatest: AddAuthServer: duplicate authorization server " + id)
	}
	s.custom[id] = s.newAuthServer(id, audience)
}

// AddScopes defines custom scopes (such as "orders:read") on the custom
// authorization server id, as an admin does under Security → API →
// Authorization Servers → Scopes: authorize requests may then ask for
// them, and access tokens carry them in "scp". (client_credentials
// requests may ask for any non-OIDC scope at custom servers, defined or
// not.) A custom server has no "groups" scope, as at Okta, until it is
// added here; groups then reach tokens only through a groups claim
// ([Server.SetGroupsClaim]). It panics if the authorization server does
// not exist, or if a scope is empty, has a space or is another OpenID
// Connect scope.
func (s *Server) AddScopes(authServerID string, scopes ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	as := s.custom[authServerID]
	if as == nil {
		panic("oktatest: AddScopes: unknown custom authorization server " + authServerID)
	}
	for _, sc := range scopes {
		if sc == "" || strings.ContainsAny(sc, " \t\n") || (sc != "groups" && slices.Contains(scopesSupported, sc)) {
			panic("oktatest: AddScopes: invalid scope " + strconv.Quote(sc))
		}
		if !slices.Contains(as.scopes, sc) {
			as.scopes = append(as.scopes, sc)
		}
	}
}

// Rotate rotates the signing key of an authorization server ("" is the org
// authorization server) the way Okta does: the next key, already published
// in JWKS, starts signing; the previous signing key stays published until
// the following rotation, so tokens it signed still verify; a new next key
// is published. It panics if the authorization server does not exist.
func (s *Server) Rotate(authServerID string) {
	s.warmNextKeys(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	as := s.authServerLocked(authServerID)
	if as == nil {
		panic("oktatest: Rotate: unknown authorization server " + authServerID)
	}
	old := as.cur
	as.prev = &old
	as.cur = as.next
	as.next = s.allocKey(as.alg)
}

// SetSigningAlg makes an authorization server ("" is the org authorization
// server) sign its ID, access and logout tokens with alg: "RS256" (the
// default, as Okta does) or "ES256" (P-256 keys), as other OpenID
// providers may. Discovery then advertises alg alone in
// id_token_signing_alg_values_supported; the new signing and next keys
// are published in JWKS, and the previous signing key stays published
// until the following rotation. It panics if the authorization server
// does not exist or alg is another value.
func (s *Server) SetSigningAlg(authServerID, alg string) {
	if alg != "RS256" && alg != "ES256" {
		panic("oktatest: SetSigningAlg: unsupported alg " + strconv.Quote(alg))
	}
	if alg == "RS256" {
		s.warmNextKeys(2)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	as := s.authServerLocked(authServerID)
	if as == nil {
		panic("oktatest: SetSigningAlg: unknown authorization server " + authServerID)
	}
	old := as.cur
	as.alg, as.prev = alg, &old
	as.cur, as.next = s.allocKey(alg), s.allocKey(alg)
}

// MutateDiscovery makes fn edit every discovery document before it is
// served, until called again with nil. fn receives a fresh map each time and
// is called without locks held.
func (s *Server) MutateDiscovery(fn func(doc map[string]any)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mutateDiscovery = fn
}

// handleDiscovery serves openid-configuration and oauth-authorization-server.
func (s *Server) handleDiscovery(w http.ResponseWriter, r *http.Request, as *authServer) {
	s.mu.Lock()
	u, fn := s.URL, s.mutateDiscovery
	scopes := as.knownScopes()
	alg := as.cur.alg()
	s.mu.Unlock()
	claims := []string{"iss", "ver", "sub", "aud", "iat", "exp", "jti", "auth_time", "amr", "idp",
		"nonce", "name", "nickname", "preferred_username", "given_name", "middle_name",
		"family_name", "email", "email_verified", "profile", "zoneinfo", "locale", "address",
		"phone_number", "picture", "website", "gender", "birthdate", "updated_at", "at_hash",
		"c_hash", "acr", "sid"}
	authMethods := []string{"client_secret_basic", "client_secret_post", "client_secret_jwt", "private_key_jwt", "none"}
	doc := map[string]any{
		"issuer":                                        as.issuer(u),
		"authorization_endpoint":                        as.endpoint(u, "authorize"),
		"token_endpoint":                                as.endpoint(u, "token"),
		"userinfo_endpoint":                             as.endpoint(u, "userinfo"),
		"jwks_uri":                                      as.endpoint(u, "keys"),
		"end_session_endpoint":                          as.endpoint(u, "logout"),
		"revocation_endpoint":                           as.endpoint(u, "revoke"),
		"introspection_endpoint":                        as.endpoint(u, "introspect"),
		"response_types_supported":                      []string{"code"},
		"response_modes_supported":                      []string{"query"},
		"grant_types_supported":                         []string{"authorization_code", "refresh_token", "client_credentials"},
		"subject_types_supported":                       []string{"public"},
		"id_token_signing_alg_values_supported":         []string{alg},
		"scopes_supported":                              scopes,
		"token_endpoint_auth_methods_supported":         authMethods,
		"revocation_endpoint_auth_methods_supported":    authMethods,
		"introspection_endpoint_auth_methods_supported": authMethods,
		"claims_supported":                              claims,
		"code_challenge_methods_supported":              []string{"S256"},
		"acr_values_supported":                          slices.Clone(acrSupported),
		"frontchannel_logout_supported":                 true,
		"frontchannel_logout_session_supported":         true,
		"request_parameter_supported":                   false,
		"request_object_signing_alg_values_supported":   []string{"HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "ES256", "ES384", "ES512"},
	}
	if fn != nil {
		fn(doc)
	}
	w.Header().Set("Cache-Control", "max-age=86400, must-revalidate")
	writeJSON(w, http.StatusOK, doc)
}

// handleKeys serves the authorization server's JWKS.
func (s *Server) handleKeys(w http.ResponseWriter, r *http.Request, as *authServer) {
	s.mu.Lock()
	keys := as.published()
	s.mu.Unlock()
	jwks := make([]map[string]any, len(keys))
	for i, k := range keys {
		jwks[i] = k.jwk()
	}
	w.Header().Set("Cache-Control", "max-age=3600, must-revalidate")
	writeJSON(w, http.StatusOK, map[string]any{"keys": jwks})
}

// writeJSON writes v as a JSON response with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
