package oktasso

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"time"
)

// errMembership wraps a failure to decide membership (IsMember or
// GroupsSource): the request is answered 503, the session kept as it was.
type errMembership struct{ err error }

func (e *errMembership) Error() string { return "oktasso: deciding membership: " + e.err.Error() }
func (e *errMembership) Unwrap() error { return e.err }

// usesGroupsSource reports whether a user's groups come from GroupsSource:
// always with IgnoreGroupsClaim, otherwise when the sign-in carried no
// groups claim (or a null one).
func (a *Auth) usesGroupsSource(claims map[string]any) bool {
	if a.cfg.GroupsSource == nil {
		return false
	}
	if a.cfg.IgnoreGroupsClaim {
		return true
	}
	return claims["groups"] == nil
}

// decideMembership sets u.Groups (from GroupsSource when it is the source)
// and u.Internal (WorkspaceGroups, then IsMember), at sign-in and on each
// re-evaluation. fromAPI says whether GroupsSource supplied the groups.
func (a *Auth) decideMembership(ctx context.Context, u *User, fromAPI bool) error {
	if fromAPI {
		g, err := a.cfg.GroupsSource.UserGroups(ctx, u.Subject)
		if err != nil {
			return &errMembership{fmt.Errorf("reading the user's groups: %w", err)}
		}
		u.Groups = g
	}
	u.Internal = slices.ContainsFunc(a.cfg.WorkspaceGroups, u.InGroup)
	if a.cfg.IsMember != nil {
		m, err := a.cfg.IsMember(ctx, u)
		if err != nil {
			return &errMembership{fmt.Errorf("IsMember: %w", err)}
		}
		u.Internal = m
	}
	return nil
}

// rechecks reports whether sessions' membership is re-evaluated: only when
// something outside the ID token decides it.
func (a *Auth) rechecks(s *session) bool {
	return a.cfg.IsMember != nil || s.APIGroups
}

// recheck decides a session's membership again once its decision is
// MembershipInterval old, and saves the session when anything changed (or
// to record the time of the check). It returns the session to use.
func (a *Auth) recheck(ctx context.Context, w http.ResponseWriter, s *session, now time.Time) (*session, error) {
	if !a.rechecks(s) || now.Sub(time.Unix(s.Checked, 0)) < a.cfg.MembershipInterval {
		return s, nil
	}
	u := s.user()
	if err := a.decideMembership(ctx, u, s.APIGroups); err != nil {
		a.cfg.Logger.Warn("oktasso: could not re-evaluate membership; refusing the request until it can", "subject", s.Subject, "err", err.Error())
		return s, err
	}
	next := *s
	next.Checked = now.Unix()
	if !s.Pinned {
		next.Internal = u.Internal
	}
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
