package oktasso

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"
)

// errMembership wraps a failure to decide membership (RequireMember or
// GroupsSource): the request is answered 503, the session kept as it was.
type errMembership struct{ err error }

func (e *errMembership) Error() string { return "oktasso: deciding membership: " + e.err.Error() }
func (e *errMembership) Unwrap() error { return e.err }

// groupsClaimCap is the most groups Okta puts in a groups claim: a claim
// with that many or more may lack some of the user's groups.
const groupsClaimCap = 100

// groupsClaim is the name of the claim that carries groups: for a plain
// OAuth 2.0 provider its mapping's (Config.OAuth2.Mapping.Groups, a
// dotted path, "-" for none), else the OpenID Connect "groups", where
// User.Groups comes from.
func (a *Auth) groupsClaim() string {
	if a.cfg.OAuth2 != nil {
		return mappingDefaults(a.cfg.OAuth2.Mapping).Groups
	}
	return "groups"
}

// usesGroupsSource reports whether a user's groups come from GroupsSource:
// always with IgnoreGroupsClaim, otherwise when the sign-in carried no
// groups claim (or a null one), or one of groupsClaimCap or more groups,
// which Okta may have cut short.
func (a *Auth) usesGroupsSource(u *User) bool {
	if a.cfg.Access.GroupsSource == nil {
		return false
	}
	if a.cfg.Access.IgnoreGroupsClaim {
		return true
	}
	return claimAt(u.Claims, a.groupsClaim()) == nil || len(u.Groups) >= groupsClaimCap
}

// groupsMaybeTruncated reports whether u's groups, from the claim, may be
// incomplete: as many as Okta puts in a claim at most, and no GroupsSource
// to read them all.
func (a *Auth) groupsMaybeTruncated(u *User) bool {
	return !u.apiGroups && a.cfg.Access.GroupsSource == nil && len(u.Groups) >= groupsClaimCap
}

// decideMembership sets u.Groups (from GroupsSource when it is the
// source) and u.Internal (the Workspace policy), at sign-in (fresh: every
// RequireMember is asked again) and on each re-evaluation. fromAPI says
// whether GroupsSource supplies the groups.
func (a *Auth) decideMembership(r *http.Request, u *User, fromAPI, fresh bool) error {
	if fromAPI {
		g, err := a.cfg.Access.GroupsSource(r.Context(), u.Subject)
		if err != nil {
			return &errMembership{fmt.Errorf("reading the user's groups: %w", err)}
		}
		u.Groups = g
	}
	f, err := a.check(a.workspace, r, u, fresh)
	if err != nil {
		return &errMembership{err}
	}
	u.Internal = f == ""
	return nil
}

// check evaluates p for u, answering RequireMember parts from the member
// cache (fresh: asking the application again and caching the answer).
func (a *Auth) check(p Policy, r *http.Request, u *User, fresh bool) (string, error) {
	if !p.dynamic && p.member == nil {
		return p.eval(r, u, nil)
	}
	return p.eval(r, u, func(m *memberLeaf, r *http.Request, u *User) (bool, error) {
		return a.members.lookup(m, r, u, fresh)
	})
}

// rechecks reports whether sessions' membership is re-evaluated: only when
// something outside the ID token decides it.
func (a *Auth) rechecks(s *session) bool {
	return a.workspace.dynamic || a.workspace.member != nil || s.APIGroups
}

// memberCache keeps RequireMember answers for RecheckInterval, bounded:
// at most max entries; when full, expired entries go first, then any.
type memberCache struct {
	ttl time.Duration
	max int
	now func() time.Time

	mu sync.Mutex
	m  map[memberKey]memberAnswer
}

type memberKey struct {
	leaf            *memberLeaf
	issuer, subject string
}

type memberAnswer struct {
	member bool
	at     time.Time
}

// defaultMaxMemberAnswers bounds the member cache: one answer per user and
// RequireMember policy, about 100 bytes each.
const defaultMaxMemberAnswers = 10_000

func newMemberCache(ttl time.Duration, now func() time.Time) *memberCache {
	return &memberCache{ttl: ttl, max: defaultMaxMemberAnswers, now: now, m: map[memberKey]memberAnswer{}}
}

// lookup answers m for u from the cache, or asks the application (always
// when fresh) and keeps the answer. Errors are not kept.
func (c *memberCache) lookup(m *memberLeaf, r *http.Request, u *User, fresh bool) (bool, error) {
	k := memberKey{m, u.Issuer, u.Subject}
	now := c.now()
	if !fresh {
		c.mu.Lock()
		ans, ok := c.m[k]
		c.mu.Unlock()
		if ok && now.Sub(ans.at) < c.ttl {
			return ans.member, nil
		}
	}
	member, err := m.isMember(r.Context(), u)
	if err != nil {
		return false, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[k]; !ok && len(c.m) >= c.max {
		for key, ans := range c.m {
			if now.Sub(ans.at) >= c.ttl {
				delete(c.m, key)
			}
		}
		for key := range c.m {
			if len(c.m) < c.max {
				break
			}
			delete(c.m, key)
		}
	}
	c.m[k] = memberAnswer{member: member, at: now}
	return member, nil
}

// recheck decides a session's membership again once its decision is
// RecheckInterval old, and saves the session when anything changed (or
// to record the time of the check). It returns the session to use.
func (a *Auth) recheck(r *http.Request, w http.ResponseWriter, s *session, now time.Time) (*session, error) {
	if !a.rechecks(s) || now.Sub(time.Unix(s.Checked, 0)) < a.cfg.Access.RecheckInterval {
		return s, nil
	}
	ctx := r.Context()
	u := s.user()
	if err := a.decideMembership(r, u, s.APIGroups, false); err != nil {
		a.cfg.Logger.Warn("oktasso: could not re-evaluate membership; refusing the request until it can", "subject", s.Subject, "err", err.Error())
		return s, err
	}
	next := *s
	next.Checked = now.Unix()
	next.Internal = u.Internal
	if s.APIGroups {
		next.Groups = u.Groups
	}
	if next.Internal != s.Internal {
		a.cfg.Logger.LogAttrs(ctx, slog.LevelInfo, "oktasso: membership changed", slog.String("subject", s.Subject), slog.Bool("internal", next.Internal))
	}
	// Saved like a new session: groups that make it too large for its
	// cookies are trimmed to those a policy names, so the decision's time
	// is recorded and the source is not asked again on every request.
	if err := a.fitSession(ctx, w, &next); errors.Is(err, errSessionRevoked) {
		return nil, nil
	} else if err != nil {
		a.cfg.Logger.Warn("oktasso: could not save the re-evaluated session", "err", err.Error())
	}
	return &next, nil
}
