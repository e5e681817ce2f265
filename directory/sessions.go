package directory

import (
	"context"
	"fmt"
)

// SessionEnder ends a user's sessions in the app: *oktasso.Auth is one, its
// EndSessions method marks every session of the user ended in the app's
// shared store, so every instance refuses them. A [Sync] with
// SyncOptions.EndSessions calls it, from the goroutine that called Sync:
//
//   - for a user it reads as SUSPENDED, after upserting them, and for one it
//     reads as DEPROVISIONED, when their status may have changed since the
//     last run that ended sessions (their lastUpdated is after its start,
//     minus the 5-minute overlap), or the app has them. The first run with
//     EndSessions (no state, or one saved by runs without it) is full and
//     ends the sessions of every SUSPENDED and DEPROVISIONED user in the
//     org: the app cannot know who of them signed in before. A user
//     suspended and reactivated between two runs is read as ACTIVE: their
//     sessions are not ended. One still suspended is not ended again by
//     each full run, only when Okta updates them;
//   - for a user deleted from Okta, after deactivating them, unless the
//     safety limit withholds the deactivations (SyncOptions.MaxDeactivate).
//
// An error stops the run like a sink's: the page (or the deactivations)
// does not count as done, and the next run repeats it, ending the sessions
// it missed — and again those of the users before it in the page, which
// the implementation must take as harmless (ending twice ends nothing
// new). For a sink that buffers ([Flusher]), ending sessions is part of
// the page: the flush that makes the page durable comes after them.
type SessionEnder interface {
	// EndSessions ends every session of the user the issuer identifies by
	// subject: SyncOptions.SessionIssuer, and the Okta user id (00u…),
	// which is the sub of Okta's ID tokens from the org authorization
	// server and custom ones alike.
	EndSessions(ctx context.Context, issuer, subject string) error
}

// sessionsBehind reports whether a new run must be full so that EndSessions
// sees every user: sessions were never ended, or runs without EndSessions
// moved the watermark past the last run that did.
func sessionsBehind(st State, opts SyncOptions) bool {
	return opts.EndSessions != nil && (st.SessionsWatermark.IsZero() || st.SessionsWatermark.Before(st.Watermark))
}

// endUserSessions ends the sessions of u, read in a users phase, when it is
// SUSPENDED or DEPROVISIONED and its status may have changed since the last
// run that ended sessions, or when known (a DEPROVISIONED user the app
// has).
func (r *syncRun) endUserSessions(ctx context.Context, u User, known bool) error {
	if r.opts.EndSessions == nil || !u.Suspended() && !u.Deprovisioned() {
		return nil
	}
	changed := r.endSince.IsZero() || u.LastUpdated.IsZero() || u.LastUpdated.After(r.endSince)
	if !changed && !known {
		return nil
	}
	reason := ReasonSuspended
	if u.Deprovisioned() {
		reason = ReasonDeprovisioned
	}
	return r.endSessions(ctx, u.ID, reason)
}

// endSessions reports the end of a user's sessions and, unless in a dry
// run, ends them.
func (r *syncRun) endSessions(ctx context.Context, id string, reason Reason) error {
	if r.opts.EndSessions == nil {
		return nil
	}
	if r.opts.OnChange != nil {
		r.opts.OnChange(Change{Op: "end_sessions", ID: id, Reason: reason, Issuer: r.opts.SessionIssuer})
	}
	if !r.opts.DryRun {
		if err := r.opts.EndSessions.EndSessions(ctx, r.opts.SessionIssuer, id); err != nil {
			return fmt.Errorf("directory: ending the sessions of %s: %w", id, err)
		}
	}
	r.sum.SessionsEnded++
	return nil
}
