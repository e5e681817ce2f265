package oktasso

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/oktasso/oktasso/internal/httpjson"
)

// Scope is one part of the application with its own SSO enforcement.
type scope int

const (
	// WorkspaceScope is the admin console: internal members only.
	workspaceScope scope = iota
	// WebAppScope is the end-user apps: external users allowed.
	webAppScope
)

func (s scope) String() string {
	if s == workspaceScope {
		return "workspace"
	}
	return "webapp"
}

// Workspace guards the admin console: it admits internal members only, as
// Config.Access.Workspace decides. Browsers without a session are sent to
// sign in; API clients get 401 JSON; signed-in external users get 403. With
// Config.Access.SkipEnforceWorkspace, anonymous requests pass through.
func (a *Auth) Workspace(next http.Handler) http.Handler { return a.guard(workspaceScope, next) }

// WebApp guards end-user apps: it admits any signed-in user the policy
// allows (Config.Access.SignIn, Config.Access.WebApp), internal or
// external. With Config.Access.SkipEnforceWebApp, anonymous requests pass through.
func (a *Auth) WebApp(next http.Handler) http.Handler { return a.guard(webAppScope, next) }

// Identify puts the signed-in user, if any, in the request context and never
// refuses a request. Use it for pages such as a landing page that change
// when someone is signed in.
func (a *Auth) Identify(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s, u, err := a.currentSession(w, r); s != nil && err == nil {
			if f, err := a.check(a.cfg.Access.SignIn, r, u, false); f == "" && err == nil {
				r = r.WithContext(a.withSession(r.Context(), s, u))
			}
		}
		next.ServeHTTP(w, r)
	})
}

func (a *Auth) guard(scope scope, next http.Handler) http.Handler {
	enforced := !a.cfg.Access.SkipEnforceWorkspace
	if scope == webAppScope {
		enforced = !a.cfg.Access.SkipEnforceWebApp
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, u, err := a.currentSession(w, r)
		if err != nil {
			a.unavailable(w, r, err)
			return
		}
		if s == nil {
			if !enforced {
				next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), unenforcedKey{}, true)))
				return
			}
			a.requireLogin(w, r)
			return
		}
		kind, requirement, ok, err := a.allowed(r, scope, u)
		if err != nil {
			a.unavailable(w, r, &errMembership{err})
			return
		}
		if !ok {
			if !enforced {
				// The app authenticates this request its own way; an SSO
				// user the scope would refuse is not handed to it, nor
				// found by a Require or RequireStepUp inside.
				next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), unenforcedKey{}, true)))
				return
			}
			a.refuse(w, r, u, kind, requirement)
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
		ctx = WithAccessToken(ctx, s.AccessToken)
	}
	return ctx
}

// allowed applies a scope's rules and policy to a signed-in user; when it
// refuses, requirement names what failed.
func (a *Auth) allowed(r *http.Request, scope scope, u *User) (kind pageKind, requirement string, ok bool, err error) {
	if f, err := a.check(a.cfg.Access.SignIn, r, u, false); f != "" || err != nil {
		return pageNotAllowed, f, false, err
	}
	p, kind := a.cfg.Access.WebApp, pageNotAllowed
	if scope == workspaceScope {
		p, kind = a.workspace, pageNotMember
	}
	if f, err := a.check(p, r, u, false); f != "" || err != nil {
		if kind == pageNotMember && (f == nobody.name || f == groupsRequirement) {
			f = "" // "workspace members only" says it all
		}
		return kind, f, false, err
	}
	return 0, "", true, nil
}

// currentUser reads the session cookie. A missing, tampered, expired or
// foreign cookie means no user. A live session whose idle clock has run a
// while is written again, so activity keeps it alive without a new cookie on
// every request.
func (a *Auth) currentUser(w http.ResponseWriter, r *http.Request) *User {
	_, u, _ := a.currentSession(w, r)
	return u
}

// currentSession loads the request's session, refreshes its tokens when
// they are about to expire, and rolls the idle clock forward at most every
// 1/20 of the idle timeout (and when the cookie was sealed with an older
// key or format), so most requests write no cookie. The session and user
// may be shared with the session cache: read-only; a change is made to a
// copy.
//
// A non-nil error means the session's membership is due for re-evaluation
// and could not be decided: the session is returned as it was, and guards
// answer 503 rather than trust a stale decision.
func (a *Auth) currentSession(w http.ResponseWriter, r *http.Request) (*session, *User, error) {
	ctx := r.Context()
	now := a.now()
	s, u, rewrite := a.loadSessionAt(ctx, r, now)
	if s == nil {
		return nil, nil, nil
	}
	if s.RefreshToken != "" && s.TokenExpiry != 0 && now.Add(refreshMargin(s)).Unix() >= s.TokenExpiry {
		ns := a.refreshSession(ctx, w, s)
		if ns == nil {
			return nil, nil, nil
		}
		if ns != s {
			s, u = ns, ns.user()
		}
	}
	if a.rechecks(s) {
		checked, err := a.recheck(r, w, s, now)
		if err != nil {
			return s, u, err
		}
		if checked == nil {
			return nil, nil, nil // ended while it was re-checked
		}
		if checked != s {
			return checked, checked.user(), nil // saved, timestamps included
		}
	}
	if rewrite || now.Sub(time.Unix(s.Seen, 0)) >= max(a.cfg.Session.IdleTimeout/20, time.Second) {
		rolled := *s // copy on write: s may be the cached session
		rolled.Seen = now.Unix()
		s = &rolled
		err := a.saveSession(ctx, w, s, rewrite)
		if errors.Is(err, errSessionTooLarge) {
			// Sealed again in a newer format or key, a value that fit can
			// grow past the budget: shrink it as at sign-in (fitSession
			// logs what it drops and any failure).
			_ = a.fitSession(ctx, w, s)
		} else if err != nil {
			a.cfg.Logger.Warn("oktasso: could not roll the session forward", "err", err.Error())
		}
	}
	return s, u, nil
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
	if a.cfg.Access.Prompt == "none" && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
		if _, err := r.Cookie(a.silentCookieName()); err != nil {
			// Once per browser session: a browser already signed in to
			// Okta comes back signed in without seeing a page.
			a.cookies.set(w, a.silentCookieName(), "1", 0)
			a.StartLogin(w, r, returnTo, silently(silentInteractive))
			return
		}
	}
	noStore(w)
	http.Redirect(w, r, loginURL, http.StatusFound)
}

// silentCookieName names the cookie that records a silent sign-in was
// tried in this browser session. It holds no secret: a forged or deleted
// one only turns the attempt off or on for that browser.
func (a *Auth) silentCookieName() string { return a.cookies.prefix + "-silent" }

// isAPI tells API clients (JSON, XHR, fetch) from browser navigations, so
// API clients get a 401 instead of a redirect they cannot follow.
func isAPI(r *http.Request) bool { return httpjson.IsAPI(r) }

func writeJSONError(w http.ResponseWriter, status int, code, description, loginURL string) {
	httpjson.WriteError(w, status, code, description, loginURL)
}

// writeJSON answers with a small JSON object that must not be cached.
func writeJSON(w http.ResponseWriter, status int, body map[string]string) {
	httpjson.Write(w, status, body)
}
