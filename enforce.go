package oktasso

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Scope is one part of the application with its own SSO enforcement.
type Scope int

const (
	// WorkspaceScope is the admin console: internal members only.
	WorkspaceScope Scope = iota
	// WebAppScope is the end-user apps: external users allowed.
	WebAppScope
)

func (s Scope) String() string {
	if s == WorkspaceScope {
		return "workspace"
	}
	return "webapp"
}

// Workspace guards the admin console: it admits internal members only (by
// Config.WorkspaceGroups or Config.OnLogin). Browsers without a session are
// sent to sign in; API clients get 401 JSON; signed-in external users get
// 403. With Config.SkipEnforceWorkspace, anonymous requests pass through.
func (a *Auth) Workspace(next http.Handler) http.Handler { return a.guard(WorkspaceScope, next) }

// WebApp guards end-user apps: it admits any signed-in user the policy
// allows (Config.AllowedEmailDomains, Config.WebAppGroups), internal or
// external. With Config.SkipEnforceWebApp, anonymous requests pass through.
func (a *Auth) WebApp(next http.Handler) http.Handler { return a.guard(WebAppScope, next) }

// Identify puts the signed-in user, if any, in the request context and never
// refuses a request. Use it for pages such as a landing page that change
// when someone is signed in.
func (a *Auth) Identify(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s, u := a.currentSession(w, r); s != nil {
			if a.emailAllowed(u) {
				r = r.WithContext(a.withSession(r.Context(), s, u))
			}
		}
		next.ServeHTTP(w, r)
	})
}

func (a *Auth) guard(scope Scope, next http.Handler) http.Handler {
	enforced := !a.cfg.SkipEnforceWorkspace
	if scope == WebAppScope {
		enforced = !a.cfg.SkipEnforceWebApp
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, u := a.currentSession(w, r)
		if s == nil {
			if !enforced {
				next.ServeHTTP(w, r)
				return
			}
			a.requireLogin(w, r)
			return
		}
		if kind, ok := a.allowed(scope, u); !ok {
			if !enforced {
				// The app authenticates this request its own way; an SSO
				// user the scope would refuse is not handed to it.
				next.ServeHTTP(w, r)
				return
			}
			a.forbidden(w, r, u, kind)
			return
		}
		// What a signed-in user sees is theirs: keep shared caches out
		// unless the handler says otherwise.
		w.Header().Set("Cache-Control", "private")
		next.ServeHTTP(w, r.WithContext(a.withSession(r.Context(), s, u)))
	})
}

// withSession puts the user, and the access token when kept, in ctx.
func (a *Auth) withSession(ctx context.Context, s *session, u *User) context.Context {
	ctx = WithUser(ctx, u)
	if s.AccessToken != "" {
		ctx = context.WithValue(ctx, accessTokenKey{}, s.AccessToken)
	}
	return ctx
}

// allowed applies a scope's policy to a signed-in user.
func (a *Auth) allowed(scope Scope, u *User) (pageKind, bool) {
	if !a.emailAllowed(u) {
		return pageNotAllowed, false
	}
	switch scope {
	case WorkspaceScope:
		if !u.Internal {
			return pageNotMember, false
		}
	case WebAppScope:
		if len(a.cfg.WebAppGroups) > 0 && !slices.ContainsFunc(a.cfg.WebAppGroups, u.InGroup) {
			return pageNotAllowed, false
		}
	}
	return 0, true
}

// currentUser reads the session cookie. A missing, tampered, expired or
// foreign cookie means no user. A live session whose idle clock has run a
// while is written again, so activity keeps it alive without a new cookie on
// every request.
func (a *Auth) currentUser(w http.ResponseWriter, r *http.Request) *User {
	_, u := a.currentSession(w, r)
	return u
}

// currentSession loads the request's session, refreshes its tokens when
// they are about to expire, and rolls the idle clock forward at most every
// 1/20 of the idle timeout (and when the cookie was sealed with an older
// key or format), so most requests write no cookie. The session and user
// may be shared with the session cache: read-only; a change is made to a
// copy.
func (a *Auth) currentSession(w http.ResponseWriter, r *http.Request) (*session, *User) {
	ctx := r.Context()
	s, u, rewrite := a.loadSession(ctx, r)
	if s == nil {
		return nil, nil
	}
	now := a.now()
	if s.RefreshToken != "" && s.TokenExpiry != 0 && now.Add(a.cfg.RefreshBefore).Unix() >= s.TokenExpiry {
		ns := a.refreshSession(ctx, w, s)
		if ns == nil {
			return nil, nil
		}
		if ns != s {
			s, u = ns, ns.user()
		}
	}
	if rewrite || now.Sub(time.Unix(s.Seen, 0)) >= max(a.cfg.SessionIdleTimeout/20, time.Second) {
		rolled := *s // copy on write: s may be the cached session
		rolled.Seen = now.Unix()
		s = &rolled
		if err := a.saveSession(ctx, w, s, rewrite); err != nil {
			a.cfg.Logger.Warn("oktasso: could not roll the session forward", "err", err.Error())
		}
	}
	return s, u
}

// requireLogin answers a request that needs a session and has none.
func (a *Auth) requireLogin(w http.ResponseWriter, r *http.Request) {
	returnTo := "/"
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		returnTo = r.URL.RequestURI()
	}
	// Send the client to sign in only when the provider can take it;
	// otherwise say so with 503 and Retry-After.
	if _, err := a.provider.discover(r.Context()); err != nil {
		a.unavailable(w, r, err)
		return
	}
	loginURL := a.LoginURL(returnTo)
	if isAPI(r) {
		w.Header().Set("WWW-Authenticate", `OIDC realm="oktasso", login_url="`+loginURL+`"`)
		writeJSONError(w, http.StatusUnauthorized, "login_required", "sign in required", loginURL)
		return
	}
	noStore(w)
	http.Redirect(w, r, loginURL, http.StatusFound)
}

func (a *Auth) forbidden(w http.ResponseWriter, r *http.Request, u *User, kind pageKind) {
	reason := ReasonNotAllowed
	if kind == pageNotMember {
		reason = ReasonNotMember
	}
	a.audit(r.Context(), slog.LevelInfo, Event{Name: EventAccessDenied, Reason: reason, Subject: u.Subject, Path: r.URL.Path}, nil)
	if isAPI(r) {
		writeJSONError(w, http.StatusForbidden, "access_denied", pageTexts[kind].message, "")
		return
	}
	p := a.pageFor(kind, nil, u)
	// Offer to sign out, so the person can sign in with another account.
	p.LogoutAction = a.cfg.BaseURL + LogoutPath
	a.render(w, http.StatusForbidden, p)
}

// isAPI tells API clients (JSON, XHR, fetch) from browser navigations, so
// API clients get a 401 instead of a redirect they cannot follow.
func isAPI(r *http.Request) bool {
	h := r.Header
	if h.Get("X-Requested-With") != "" {
		return true
	}
	if mode := h.Get("Sec-Fetch-Mode"); mode != "" && mode != "navigate" && h.Get("Sec-Fetch-Dest") == "empty" {
		return true
	}
	accept := h.Get("Accept")
	return strings.Contains(accept, "application/json") && !strings.Contains(accept, "text/html")
}

func writeJSONError(w http.ResponseWriter, status int, code, description, loginURL string) {
	noStore(w)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	body := map[string]string{"error": code, "error_description": description}
	if loginURL != "" {
		body["login_url"] = loginURL
	}
	json.NewEncoder(w).Encode(body)
}
