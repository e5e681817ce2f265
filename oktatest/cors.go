package oktatest

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// AddTrustedOrigin adds origin ("https://app.example.com", scheme, host and
// port only) to the org's trusted origins with CORS, as an admin does under
// Security → API → Trusted Origins for a single-page app: the
// authorization servers' discovery, keys, token, userinfo, revoke and
// introspect endpoints then answer that origin's browser requests with
// CORS headers, preflight requests included. Other origins get no CORS
// headers, so browsers refuse them the answer, as at Okta. It panics if
// origin is not an http or https origin.
func (s *Server) AddTrustedOrigin(origin string) {
	u, err := url.Parse(origin)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
		(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		panic("oktatest: AddTrustedOrigin: not an origin: " + origin)
	}
	origin = u.Scheme + "://" + u.Host
	s.mu.Lock()
	defer s.mu.Unlock()
	if !slices.Contains(s.trustedOrigins, origin) {
		s.trustedOrigins = append(s.trustedOrigins, origin)
	}
}

// corsPath reports whether a browser script may call path from a trusted
// origin: the authorization servers' endpoints that single-page apps call
// with fetch. Authorize and logout are navigations, not script calls.
func corsPath(path string) bool {
	if !strings.HasPrefix(path, "/oauth2/") && !strings.HasPrefix(path, "/.well-known/") {
		return false
	}
	for _, end := range []string{"/openid-configuration", "/oauth-authorization-server", "/v1/keys", "/v1/token", "/v1/userinfo", "/v1/revoke", "/v1/introspect"} {
		if strings.HasSuffix(path, end) {
			return true
		}
	}
	return false
}

// serveCORS adds CORS headers to the answer for a trusted origin, and
// answers its preflight requests itself; it reports whether it answered.
func (s *Server) serveCORS(w http.ResponseWriter, r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" || !corsPath(r.URL.Path) {
		return false
	}
	h := w.Header()
	h.Add("Vary", "Origin")
	s.mu.Lock()
	trusted := slices.Contains(s.trustedOrigins, origin)
	s.mu.Unlock()
	if !trusted {
		return false
	}
	h.Set("Access-Control-Allow-Origin", origin)
	h.Set("Access-Control-Allow-Credentials", "true")
	if r.Method != http.MethodOptions || r.Header.Get("Access-Control-Request-Method") == "" {
		return false
	}
	h.Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
	h.Set("Access-Control-Allow-Headers", "Accept, Authorization, Content-Type, DPoP, X-Requested-With")
	h.Set("Access-Control-Max-Age", "600")
	w.WriteHeader(http.StatusNoContent)
	return true
}
