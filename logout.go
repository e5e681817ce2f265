package oktasso

import (
	"crypto/subtle"
	"github.com/oktasso/oktasso/audit"
	"log/slog"
	"net/http"
	"net/url"
)

// logoutState is the short-lived cookie that ties Okta's post-logout
// redirect to the sign-out this browser started.
type logoutState struct {
	State   string `json:"s"`
	Created int64  `json:"c"`
}

func (a *Auth) logoutCookieName() string { return a.cookies.prefix + "-logout" }

// handleLogoutPage serves GET /auth/logout: a confirmation page whose button
// POSTs the sign-out, so a link or an image cannot sign anyone out.
func (a *Auth) handleLogoutPage(w http.ResponseWriter, r *http.Request) {
	u := a.currentUser(w, r)
	if u == nil {
		// Nobody to sign out: say so rather than ask.
		a.render(w, http.StatusOK, a.pageFor(pageSignedOut, nil, nil))
		return
	}
	p := a.pageFor(pageLogoutConfirm, nil, u)
	p.LogoutAction = a.cfg.BaseURL + LogoutPath
	a.render(w, http.StatusOK, p)
}

// handleLogout serves POST /auth/logout: it refuses cross-site requests,
// ends the local session, deletes its cookies (the sign-out cookie with
// the ID token included), then sends the browser to the provider's
// end_session_endpoint with id_token_hint, the registered
// post_logout_redirect_uri and a state.
func (a *Auth) handleLogout(w http.ResponseWriter, r *http.Request) {
	if !a.sameOrigin(r) {
		a.audit(r.Context(), slog.LevelWarn, audit.Event{Name: audit.EventLogoutRefused, Reason: audit.ReasonCrossSite}, nil)
		a.fail(w, r, http.StatusForbidden, ErrAccessDenied, pageCrossSite)
		return
	}
	now := a.now()
	ps, _ := a.peekSession(r.Context(), r)
	hasSession := ps != nil
	var s session
	if hasSession {
		s = *ps
		// Replaying this cookie later must not work: the id is revoked.
		if err := a.endSessions(r.Context(), s.ID); err != nil {
			a.cfg.Logger.Error("oktasso: revoking the session at sign-out failed", "err", err.Error())
		}
		a.audit(r.Context(), slog.LevelInfo, audit.Event{Name: audit.EventLogout, Reason: audit.ReasonOK, Subject: s.Subject}, nil)
	}
	a.cookies.clearChunks(w)
	noStore(w)
	// Only a session this app issued (expired or not) gives an ID token;
	// without one, or while the provider is unknown, sign-out is local.
	var d *discovered
	// The ID token is in the sign-out cookie, which only this path
	// receives; a session kept in the Store (or a cookie of the earlier
	// two-part format) has it with the session.
	idToken := a.cookies.idToken(&s) // peekSession opened it: no second open
	if idToken == "" && hasSession {
		idToken = a.cookies.readHint(r, s.ID)
	}
	if hasSession && idToken != "" {
		d, _ = a.provider.discover(r.Context())
	}
	if d == nil || d.meta.EndSessionEndpoint == "" {
		a.redirect(w, r, a.cfg.Session.PostLogoutPath, http.StatusSeeOther)
		return
	}
	ls := logoutState{State: randomString(24), Created: now.Unix()}
	v, err := a.cookies.logout.seal(a.logoutCookieName(), &ls, now.Add(flowTTL))
	if err != nil {
		a.redirect(w, r, a.cfg.Session.PostLogoutPath, http.StatusSeeOther)
		return
	}
	a.cookies.set(w, a.logoutCookieName(), v, flowTTL)
	u, err := url.Parse(d.meta.EndSessionEndpoint)
	if err != nil {
		a.redirect(w, r, a.cfg.Session.PostLogoutPath, http.StatusSeeOther)
		return
	}
	q := u.Query()
	q.Set("id_token_hint", idToken)
	q.Set("post_logout_redirect_uri", a.PostLogoutRedirectURL())
	q.Set("state", ls.State)
	u.RawQuery = q.Encode()
	http.Redirect(w, r, u.String(), http.StatusSeeOther)
}

// handleLogoutCallback serves GET /auth/logout/callback, where the provider
// sends the browser after ending its session. The state must match this
// browser's sign-out; either way the browser stays on this site.
func (a *Auth) handleLogoutCallback(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	state := r.URL.Query().Get("state")
	ck, err := r.Cookie(a.logoutCookieName())
	var ls logoutState
	ok := err == nil && state != "" && len(state) <= maxStateLen &&
		a.cookies.logout.open(ck.Name, ck.Value, a.now(), &ls) == nil &&
		subtle.ConstantTimeCompare([]byte(ls.State), []byte(state)) == 1
	a.cookies.set(w, a.logoutCookieName(), "", -1)
	if !ok {
		p := a.pageFor(pageSignedOut, nil, nil)
		p.Hint = a.naming("The sign-out confirmation from {provider} could not be matched to this browser; you are signed out of this application all the same.")
		a.render(w, http.StatusBadRequest, p)
		return
	}
	a.redirect(w, r, a.cfg.Session.PostLogoutPath, http.StatusSeeOther)
}

// sameOrigin refuses cross-site state-changing requests: Sec-Fetch-Site
// must say same-origin (or none: typed by the user), or else Origin must be
// the base URL's origin. A request with neither header is refused.
func (a *Auth) sameOrigin(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "same-origin", "none":
		return true
	case "":
	default:
		return false
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return false
	}
	base, err := url.Parse(a.cfg.BaseURL)
	return err == nil && origin == base.Scheme+"://"+base.Host
}
