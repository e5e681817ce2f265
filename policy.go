package oktasso

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/oktasso/oktasso/audit"
)

// Policy decides whether a signed-in user may use part of an application.
// Build one with RequireGroups, RequireEmailDomains, RequireEmailVerified,
// RequireClaim, RequireFunc or RequireMember, and combine them with AllOf
// (every one, e.g. several groups) and AnyOf. Apply it to sign-in or a
// scope (Config.Access) or to routes (Auth.Require). The zero Policy admits
// every signed-in user (except as Access.Workspace, where it admits nobody).
//
// A refusal is a 403 page (or 403 JSON for API clients) that names the
// requirement that failed, e.g. "membership in a required group", never
// the values it wanted. A Policy is immutable and safe for concurrent use.
type Policy struct {
	name    string                              // the requirement, as shown when it fails
	check   func(r *http.Request, u *User) bool // nil admits everyone
	parts   []Policy                            // for AllOf/AnyOf
	any     bool                                // AnyOf
	claims  []string                            // claims the policy reads: kept in the session
	groups  []string                            // groups the policy names: kept when sessions must shrink
	member  *memberLeaf                         // RequireMember: a lookup whose answer is kept RecheckInterval
	dynamic bool                                // some part is a RequireMember
}

// memberLeaf is the application's membership lookup of a RequireMember
// policy; its address identifies the policy in the Auth's member cache.
type memberLeaf struct {
	isMember func(ctx context.Context, u *User) (bool, error)
}

// RequireMember admits users for whom isMember returns true, e.g. after a
// lookup in the application's own member table. The answer is asked at
// sign-in and kept for AccessConfig.RecheckInterval (in a bounded cache),
// so removing a member takes effect within that interval instead of at the
// end of their session. An error fails closed: the request gets 503 and
// the session is unchanged. name says what is required, as in RequireFunc
// (empty means "membership of this workspace"). A nil isMember admits
// nobody.
func RequireMember(name string, isMember func(ctx context.Context, u *User) (bool, error)) Policy {
	if name == "" {
		name = "membership of this workspace"
	}
	if isMember == nil {
		isMember = func(context.Context, *User) (bool, error) { return false, nil }
	}
	return Policy{name: name, member: &memberLeaf{isMember: isMember}}
}

// RequireGroups admits members of at least one of groups (exact names).
func RequireGroups(groups ...string) Policy {
	return Policy{name: groupsRequirement, groups: slices.Clone(groups), check: func(_ *http.Request, u *User) bool {
		return slices.ContainsFunc(groups, func(g string) bool { return slices.Contains(u.Groups, g) })
	}}
}

// RequireEmailDomains admits users whose verified email is in one of
// domains, compared exactly and case-insensitively: "example.com" admits
// alice@example.com, not alice@evilexample.com nor alice@sub.example.com.
func RequireEmailDomains(domains ...string) Policy {
	want := make([]string, len(domains))
	for i, d := range domains {
		want[i] = strings.ToLower(strings.TrimPrefix(strings.TrimSpace(d), "@"))
	}
	return Policy{name: emailDomainRequirement, check: func(_ *http.Request, u *User) bool {
		return u.EmailVerified && slices.Contains(want, u.emailDomain())
	}}
}

// RequireEmailVerified admits users whose email Okta has verified.
func RequireEmailVerified() Policy {
	return Policy{name: "a verified email address", check: func(_ *http.Request, u *User) bool {
		return u.Email != "" && u.EmailVerified
	}}
}

// RequireClaim admits users whose claim name equals value or, for a list
// claim, contains it. Strings compare exactly; numbers and booleans by
// their JSON text ("42", "true"). The claim is kept in the session (see
// Config.Session.Claims) so the check works on every request; a session
// from before the policy existed lacks it and is refused until the user
// signs in again.
func RequireClaim(name, value string) Policy {
	return Policy{name: fmt.Sprintf("the %q attribute with a required value", name), claims: []string{name}, check: func(_ *http.Request, u *User) bool {
		return slices.Contains(claimValues(u.Claims[name]), value)
	}}
}

// RequireFunc admits users for whom ok returns true. name says what is
// required, in words the refused user can act on ("a paid plan"); it is
// shown when the check fails (empty means "a requirement of this page").
// ok runs on every request it guards: keep it fast, and treat u as
// read-only. A nil ok admits nobody.
func RequireFunc(name string, ok func(r *http.Request, u *User) bool) Policy {
	if name == "" {
		name = "a requirement of this page"
	}
	if ok == nil {
		ok = func(*http.Request, *User) bool { return false }
	}
	return Policy{name: name, check: ok}
}

// AllOf admits users that every policy admits; it reports the first
// requirement that fails.
func AllOf(policies ...Policy) Policy { return combine(false, policies) }

// AnyOf admits users that at least one policy admits; with no policies it
// admits nobody (fail closed, e.g. for a list built from empty settings).
func AnyOf(policies ...Policy) Policy { return combine(true, policies) }

func combine(any bool, policies []Policy) Policy {
	p := Policy{parts: slices.Clone(policies), any: any}
	if p.parts == nil {
		p.parts = []Policy{}
	}
	var names []string
	for _, q := range policies {
		p.dynamic = p.dynamic || q.dynamic || q.member != nil
		p.claims = append(p.claims, q.claims...)
		p.groups = append(p.groups, q.groups...)
		names = append(names, q.name)
	}
	if any {
		p.name = "one of: " + strings.Join(names, "; ")
		if len(names) == 0 {
			p.name = "a requirement of this page"
		}
	}
	return p
}

// memberLookup answers a RequireMember part of a policy for u.
type memberLookup func(m *memberLeaf, r *http.Request, u *User) (bool, error)

// failed returns the requirement u does not meet, or "" when p admits u,
// asking RequireMember parts directly (tests and policies without them).
func (p Policy) failed(r *http.Request, u *User) string {
	f, err := p.eval(r, u, nil)
	if err != nil && f == "" {
		return p.name
	}
	return f
}

// eval returns the requirement u does not meet, or "" when p admits u.
// Every refusing policy has a non-empty name (RequireFunc, RequireMember
// and combine see to it), so "" always means admitted. err is set when a
// RequireMember lookup failed and the outcome depended on it; lookup
// answers those parts (nil: ask the application's function).
func (p Policy) eval(r *http.Request, u *User, lookup memberLookup) (string, error) {
	switch {
	case p.parts != nil && p.any:
		return p.evalAny(r, u, lookup)
	case p.parts != nil:
		for _, q := range p.parts {
			if f, err := q.eval(r, u, lookup); f != "" || err != nil {
				return f, err
			}
		}
		return "", nil
	case p.member != nil:
		return p.evalMember(r, u, lookup)
	case p.check == nil || p.check(r, u):
		return "", nil
	}
	return p.name, nil
}

// evalAny admits u when one part does; a failed lookup matters only when
// no part admits.
func (p Policy) evalAny(r *http.Request, u *User, lookup memberLookup) (string, error) {
	var firstErr error
	for _, q := range p.parts {
		f, err := q.eval(r, u, lookup)
		if err == nil && f == "" {
			return "", nil
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	return p.name, firstErr
}

// evalMember answers a RequireMember through lookup, or by asking the
// application when there is none.
func (p Policy) evalMember(r *http.Request, u *User, lookup memberLookup) (string, error) {
	var ok bool
	var err error
	if lookup != nil {
		ok, err = lookup(p.member, r, u)
	} else {
		ok, err = p.member.isMember(r.Context(), u)
	}
	switch {
	case err != nil:
		return p.name, err
	case !ok:
		return p.name, nil
	}
	return "", nil
}

// groupsRequirement names RequireGroups' requirement.
const groupsRequirement = "membership in a required group"

// emailDomainRequirement names RequireEmailDomains' requirement; a sign-in
// it refuses is audited with ReasonEmailDomain.
const emailDomainRequirement = "an email address in an allowed domain"

// isZero reports whether p is the zero Policy (which admits everyone).
func (p Policy) isZero() bool { return p.check == nil && p.parts == nil && p.member == nil }

// claimValues flattens a claim value for comparison: a string, a number or
// a boolean becomes one string, a list its elements' strings.
func claimValues(v any) []string {
	switch v := v.(type) {
	case nil:
		return nil
	case string:
		return []string{v}
	case []string:
		return v
	case bool:
		return []string{strconv.FormatBool(v)}
	case float64:
		return []string{strconv.FormatFloat(v, 'f', -1, 64)}
	case []any:
		var out []string
		for _, e := range v {
			out = append(out, claimValues(e)...)
		}
		return out
	}
	return []string{fmt.Sprint(v)}
}

// Limits on the claims a session keeps, so a huge claim cannot bloat every
// cookie.
const (
	maxKeptClaimValues = 64
	maxKeptClaimBytes  = 256
)

// keptClaims picks the claims the session keeps from a sign-in's claims.
func (a *Auth) keptClaims(claims map[string]any) map[string][]string {
	names := a.claimNames()
	if len(names) == 0 || len(claims) == 0 {
		return nil
	}
	out := map[string][]string{}
	for _, n := range names {
		v, ok := claims[n]
		if !ok {
			continue
		}
		vals := claimValues(v)
		if len(vals) > maxKeptClaimValues {
			a.cfg.Logger.Warn("oktasso: a kept claim has too many values; keeping the first ones", "claim", n, "values", len(vals))
			vals = vals[:maxKeptClaimValues]
		}
		kept := make([]string, 0, len(vals))
		for _, s := range vals {
			if len(s) <= maxKeptClaimBytes {
				kept = append(kept, s)
			}
		}
		out[n] = kept
	}
	return out
}

// claimNames returns the claims sessions keep: Config.Session.Claims and
// those the policies of this Auth read.
func (a *Auth) claimNames() []string {
	a.policyMu.RLock()
	defer a.policyMu.RUnlock()
	return a.claimSet
}

// notePolicy records what a policy needs the session to keep. Policies
// are registered when guards are built, before requests are served.
func (a *Auth) notePolicy(p Policy) {
	if len(p.claims) == 0 && len(p.groups) == 0 {
		return
	}
	a.policyMu.Lock()
	defer a.policyMu.Unlock()
	for _, c := range p.claims {
		if !slices.Contains(a.claimSet, c) {
			a.claimSet = append(slices.Clip(a.claimSet), c)
		}
	}
	for _, g := range p.groups {
		if !slices.Contains(a.groupSet, g) {
			a.groupSet = append(slices.Clip(a.groupSet), g)
		}
	}
}

// namedGroup reports whether a policy or the configuration names group g.
func (a *Auth) namedGroup(g string) bool {
	a.policyMu.RLock()
	defer a.policyMu.RUnlock()
	return slices.Contains(a.groupSet, g)
}

// Require returns middleware that admits only users every policy admits.
// Inside Workspace or WebApp it uses the user they found; on its own it
// reads the session itself and sends those without one to sign in, like
// the guards do. Refused users get 403 naming the failed requirement.
func (a *Auth) Require(policies ...Policy) func(http.Handler) http.Handler {
	p := AllOf(policies...)
	a.notePolicy(p)
	return a.routeGuard(func(w http.ResponseWriter, r *http.Request, u *User) bool {
		if f, err := a.check(p, r, u, false); err != nil {
			a.unavailable(w, r, &errMembership{err})
			return false
		} else if f != "" {
			a.refuse(w, r, u, pageNotAllowed, f)
			return false
		}
		return true
	})
}

// routeGuard is the middleware Require and RequireStepUp share: it finds
// the user (routeUser), passes on what an unenforced scope let through,
// and calls next only when admit returns true; otherwise admit has
// answered the request.
func (a *Auth) routeGuard(admit func(w http.ResponseWriter, r *http.Request, u *User) bool) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			u, r, answered := a.routeUser(w, r)
			if answered {
				return
			}
			if u == nil || admit(w, r, u) { // nil: an unenforced scope let it through
				next.ServeHTTP(w, r)
			}
		})
	}
}

// unenforcedKey marks a request that a guard whose scope is not enforced
// let through without a user (anonymous, or a user the scope refuses).
type unenforcedKey struct{}

// routeUser finds the user for Require and RequireStepUp: the one a guard
// put in the context, else the session's (with the email-domain rule that
// every scope applies). A request an unenforced scope let through without
// a user goes on without one (u nil). answered reports that the request
// was answered: sent to sign in, refused, or 503.
func (a *Auth) routeUser(w http.ResponseWriter, r *http.Request) (u *User, out *http.Request, answered bool) {
	if u := UserFrom(r.Context()); u != nil {
		return u, r, false
	}
	if r.Context().Value(unenforcedKey{}) != nil {
		return nil, r, false
	}
	s, u, err := a.currentSession(w, r)
	if err != nil {
		a.unavailable(w, r, err)
		return nil, r, true
	}
	if s == nil {
		a.requireLogin(w, r)
		return nil, r, true
	}
	if f, err := a.check(a.cfg.Access.SignIn, r, u, false); err != nil {
		a.unavailable(w, r, &errMembership{err})
		return nil, r, true
	} else if f != "" {
		a.refuse(w, r, u, pageNotAllowed, f)
		return nil, r, true
	}
	return u, r.WithContext(a.withSession(r.Context(), s, u)), false
}

// refuse answers a signed-in user that a scope or policy does not admit:
// 403 JSON for API clients, a page otherwise; requirement, when set, names
// what failed.
func (a *Auth) refuse(w http.ResponseWriter, r *http.Request, u *User, kind pageKind, requirement string) {
	reason := audit.ReasonNotAllowed
	if kind == pageNotMember {
		reason = audit.ReasonNotMember
	}
	a.audit(r.Context(), slog.LevelInfo, audit.Event{Name: audit.EventAccessDenied, Reason: reason, Subject: u.Subject, Path: r.URL.Path, Requirement: requirement}, nil)
	msg := pageTexts[kind].message
	if isAPI(r) {
		body := map[string]string{"error": "access_denied", "error_description": msg}
		if requirement != "" {
			body["requirement"] = requirement
		}
		writeJSON(w, http.StatusForbidden, body)
		return
	}
	p := a.pageFor(kind, nil, u)
	if requirement != "" {
		p.Detail = "This page requires " + requirement + "."
	}
	// Offer to sign out, so the person can sign in with another account.
	p.LogoutAction = a.cfg.BaseURL + LogoutPath
	a.render(w, http.StatusForbidden, p)
}

// nobody is the Workspace policy when none is set: the workspace admits
// internal members only, and without a policy nobody is one.
var nobody = Policy{name: "membership of this workspace", check: func(*http.Request, *User) bool { return false }}
