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
// client. The SSO session ends, every application the user signed in to
// during it is notified (front-channel iframes on the signed-out page, and
// back-channel logout tokens when [Server.SendBackchannelLogout] is on),
// and the browser is redirected with state. Like Okta, signing out at the
// logout endpoint sends no Universal Logout request.
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
	sess := s.endSession(w, r)
	s.notifyBackchannel(r.Context(), sess)
	frames, origins := s.frontchannelFrames(sess)
	if target != "" {
		if state := q.Get("state"); state != "" {
			target = withQuery(target, url.Values{"state": {state}})
		}
		if len(frames) == 0 {
			http.Redirect(w, r, target, http.StatusFound)
			return
		}
	}
	renderPageFraming(w, http.StatusOK, "signedout", signedOutData{Frames: frames, Continue: target}, origins)
}

// frontchannelFrames returns the front-channel logout URLs of the
// applications the user signed in to during sess, with Okta's "iss" and
// "sid" parameters, and their origins.
func (s *Server) frontchannelFrames(sess *ssoSession) (frames, origins []string) {
	if sess == nil {
		return nil, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, app := range sess.apps {
		c := s.clients[app.clientID]
		if c == nil || c.FrontchannelLogoutURI == "" {
			continue
		}
		frames = append(frames, withQuery(c.FrontchannelLogoutURI, url.Values{"iss": {app.as.issuer(s.URL)}, "sid": {sess.sid}}))
		if u, err := url.Parse(c.FrontchannelLogoutURI); err == nil && u.Host != "" {
			if o := u.Scheme + "://" + u.Host; !slices.Contains(origins, o) {
				origins = append(origins, o)
			}
		}
	}
	return frames, origins
}

// EndSession ends every SSO session of the user with login, as an admin
// clearing a user's sessions does: it is [Server.ClearUserSessions]
// without revoking tokens. Applications with a [Client.UniversalLogoutURI]
// get a Universal Logout request (asynchronously, see
// [Server.UniversalLogoutDeliveries]); when [Server.SendBackchannelLogout]
// is on, the applications the user signed in to during the sessions also
// get back-channel logout tokens (see [Client.BackchannelLogoutURI])
// before it returns. The browsers' next authorize request needs a new
// sign-in. It panics if login is not a user.
func (s *Server) EndSession(login string) {
	s.mu.Lock()
	u := s.userByLoginLocked(login)
	s.mu.Unlock()
	if u == nil {
		panic("oktatest: EndSession: unknown user " + login)
	}
	s.ClearUserSessions(u.ID, false)
}
