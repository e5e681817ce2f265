package directory

import "context"

// Sink receives the changes of a [Sync]: the app implements it over its
// own accounts. Sync calls it from one goroutine, users first, then each
// group with its members, then the deactivations. Every method must be
// idempotent: a resumed run repeats the page it failed in, and any page
// read after the last checkpoint saved.
//
// An error from a method stops the run before the page counts as done.
// A sink that buffers its writes (a file, a batch, a transaction)
// implements [Flusher] too; one that can delete groups implements
// [GroupDeleter].
type Sink interface {
	// UpsertUser creates or updates the account linked to u.ID (never
	// link by email). u.Status tells suspended and other inactive users
	// apart; DEPROVISIONED users are not upserted but deactivated.
	UpsertUser(ctx context.Context, u User) error
	// DeactivateUser deactivates the account linked to the Okta user id,
	// which was deprovisioned in Okta or deleted from it (reason). The
	// id may be unknown to the app.
	DeactivateUser(ctx context.Context, id string, reason Reason) error
	// UpsertGroup creates or updates the group g.ID.
	UpsertGroup(ctx context.Context, g Group) error
	// SetMembers replaces the members of the group with the given users
	// (not DEPROVISIONED ones). Members of Okta's built-in "Everyone"
	// group, which holds every user, are not listed.
	SetMembers(ctx context.Context, groupID string, userIDs []string) error
}

// GroupDeleter is a Sink that can delete a group that was deleted in
// Okta. Without it, such a group gets SetMembers with no members.
type GroupDeleter interface {
	DeleteGroup(ctx context.Context, groupID string) error
}

// Flusher is a Sink that buffers its writes. Sync calls Flush at the end
// of every page and after the deactivations, and counts the page done,
// saves a checkpoint past it or saves the run's final state only after
// Flush returned nil. An error stops the run; the checkpoint then saved
// points at the page after the last one flushed, which the next run reads
// again.
//
// Flush returns a mark of the point reached, such as the length of the
// file the sink appends to, or "". Sync keeps it in the state it saves
// next ([State].SinkMark). A sink that cannot take back a write (an append
// to a file) cuts whatever follows the saved mark before the next run:
// the writes of pages that no saved state counts as done, which that run
// makes again. The resumed output is then exactly what one run without
// the failure would have written.
type Flusher interface {
	Flush(ctx context.Context) (mark string, err error)
}

// Reason says why a user is deactivated.
type Reason string

const (
	// ReasonDeprovisioned: the user's status in Okta is DEPROVISIONED.
	ReasonDeprovisioned Reason = "deprovisioned"
	// ReasonDeleted: the user is gone from Okta, found by a full run.
	ReasonDeleted Reason = "deleted"
	// ReasonSuspended: the user's status in Okta is SUSPENDED (the
	// reason of an end_sessions change only; such users are upserted).
	ReasonSuspended Reason = "suspended"
)

// Change is one change applied (or planned) by a sync; a plain value that
// OnChange may keep.
type Change struct {
	Op      string   `json:"op"` // upsert_user, deactivate_user, upsert_group, set_members, delete_group, end_sessions
	User    *User    `json:"user,omitempty"`
	Group   *Group   `json:"group,omitempty"`
	ID      string   `json:"id,omitempty"`      // deactivate_user, set_members, delete_group, end_sessions
	Reason  Reason   `json:"reason,omitempty"`  // deactivate_user, end_sessions
	Members []string `json:"members,omitempty"` // set_members
	Issuer  string   `json:"issuer,omitempty"`  // end_sessions: SyncOptions.SessionIssuer
}
