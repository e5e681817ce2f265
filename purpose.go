package oktasso

import (
	"context"
	"fmt"
	"github.com/oktasso/oktasso/audit"
	"net/http"
	"regexp"
	"strings"
)

// Purpose is a second kind of sign-in with its own callback, for flows such
// as MFA re-authentication or enrollment: the user goes through Okta with
// the same checks as a sign-in (state, nonce, PKCE, ID token), and the
// verified identity is handed to the application instead of replacing the
// session. When the browser has a session, only its user may complete the
// flow. A Purpose is safe for concurrent use.
type Purpose struct {
	a    *Auth
	name string
	path string
	done func(ctx context.Context, u *User) error
}

var purposeName = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,31}$`)

// NewPurpose registers a flow purpose. name is short and lower-case
// ("mfa", "enroll"). callbackPath is where Okta sends the browser back; ""
// means CallbackPath+"/"+name, served by Handler; any other path must be
// routed to the Purpose (it is an http.Handler). Register the redirect URI
// (RedirectURL) with the Okta application. done runs with the verified
// user (AuthTime, ACR and AMR tell how they authenticated) and its
// request's context; it returns nil to send the browser back to the
// return path, or an error to refuse, as Config.Hooks.OnLogin does. After
// an enrollment (EnrollAuthenticator) Okta sends no token: done then gets
// the session's user, the one who started the flow, as the session
// describes them; that call is no proof of an enrollment (see
// EnrollAuthenticator).
func (a *Auth) NewPurpose(name, callbackPath string, done func(ctx context.Context, u *User) error) (*Purpose, error) {
	if !purposeName.MatchString(name) {
		return nil, fmt.Errorf("oktasso: purpose name %q: use 1 to 32 lower-case letters, digits and dashes", name)
	}
	if callbackPath == "" {
		callbackPath = CallbackPath + "/" + name
	}
	if !strings.HasPrefix(callbackPath, "/") || safePath(callbackPath) != callbackPath || strings.ContainsAny(callbackPath, "?#") || callbackPath == CallbackPath {
		return nil, fmt.Errorf("oktasso: purpose %q: callback path %q must be a plain absolute path other than %s", name, callbackPath, CallbackPath)
	}
	if done == nil {
		return nil, fmt.Errorf("oktasso: purpose %q: done is nil", name)
	}
	p := &Purpose{a: a, name: name, path: callbackPath, done: done}
	a.policyMu.Lock()
	defer a.policyMu.Unlock()
	if a.purposes == nil {
		a.purposes = map[string]*Purpose{}
	}
	if _, dup := a.purposes[name]; dup {
		return nil, fmt.Errorf("oktasso: purpose %q is already registered", name)
	}
	a.purposes[name] = p
	return p, nil
}

func (a *Auth) purpose(name string) *Purpose {
	a.policyMu.RLock()
	defer a.policyMu.RUnlock()
	return a.purposes[name]
}

// RedirectURL is the purpose's sign-in redirect URI, to register in Okta.
func (p *Purpose) RedirectURL() string { return p.a.cfg.BaseURL + p.path }

// Start sends the browser through Okta for this purpose, coming back to
// returnTo (a same-origin path). Use options such as Prompt("login"),
// MaxAge or ACRValues to ask for a fresh or stronger authentication, IdP
// to sign in elsewhere, or EnrollAuthenticator to have the user enroll an
// authenticator. When the browser has a session, only its user may
// complete the flow.
func (p *Purpose) Start(w http.ResponseWriter, r *http.Request, returnTo string, opts ...LoginOption) {
	if s, _ := p.a.peekSession(r.Context(), r); s != nil {
		opts = append([]LoginOption{LoginHint(s.Username), expectSubject(s.Subject)}, opts...)
	}
	p.a.startFlow(w, r, returnTo, p.name, p.path, opts)
}

// ServeHTTP serves the purpose's callback.
func (p *Purpose) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	a := p.a
	f, u, _, ok := a.finishFlow(w, r, p.name)
	if !ok {
		return
	}
	if err := p.done(r.Context(), u); err != nil {
		a.loginFailed(w, r, fmt.Errorf("oktasso: purpose %s: %w", p.name, err))
		return
	}
	name := audit.EventReauthenticated
	if f.Enroll {
		name = audit.EventEnrolled
	}
	level, reason, warning := completion(u)
	a.audit(r.Context(), level, audit.Event{Name: name, Reason: reason, Subject: u.Subject, Path: p.path}, warning)
	a.redirect(w, r, f.ReturnTo, http.StatusFound)
}
