package oktatest

import (
	"net/http"
	"net/url"
	"slices"
)

// handleLogout serves GET {as}/v1/logout: RP-initiated logout. The
// id_token_hint must be an ID token this authorization server signed with a
// key it still publishes (expiry is ignored, as at Okta); the
// post_logout_redirect_uri, when given, must be registered for the token's
// client. The SSO session ends and the browser is redirected with state.
func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request, as *authServer) {
	q := r.URL.Query()
	hint := q.Get("id_token_hint")
	if hint == "" {
		renderError(w, http.StatusBadRequest, "invalid_request", "The 'id_token_hint' parameter is required.")
		return
	}
	s.mu.Lock()
	keys := as.published()
	issuer := as.issuer(s.URL)
	s.mu.Unlock()
	claims, err := verifyJWT(hint, keys)
	if err != nil || claims["iss"] != issuer {
		renderError(w, http.StatusBadRequest, "invalid_request", "The 'id_token_hint' parameter is not a valid ID token of this authorization server.")
		return
	}
	aud, _ := claims["aud"].(string)
	s.mu.Lock()
	client := s.clients[aud]
	s.mu.Unlock()
	if client == nil {
		renderError(w, http.StatusBadRequest, "invalid_request", "The client of the 'id_token_hint' is unknown.")
		return
	}
	target := q.Get("post_logout_redirect_uri")
	if target != "" && !slices.Contains(client.PostLogoutRedirectURIs, target) {
		renderError(w, http.StatusBadRequest, "invalid_request", "The 'post_logout_redirect_uri' parameter must be a Logout redirect URI in the client app settings.")
		return
	}
	s.endSession(w, r)
	if target == "" {
		renderPage(w, http.StatusOK, "signedout", nil)
		return
	}
	if state := q.Get("state"); state != "" {
		target = withQuery(target, url.Values{"state": {state}})
	}
	http.Redirect(w, r, target, http.StatusFound)
}
