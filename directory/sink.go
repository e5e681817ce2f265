package directory

import "context"

// Sink receives the changes of a [Sync]: the app implements it over its
// own accounts. Sync calls it from one goroutine, users first, then each
// group with its members, then the deactivations. Every method must be
// idempotent: a resumed run repeats the page it failed in.
//
// A sink that can delete groups implements [GroupDeleter] too.
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

// Reason says why a user is deactivated.
type Reason string

const (
	// ReasonDeprovisioned: the user's status in Okta is DEPROVISIONED.
	ReasonDeprovisioned Reason = "deprovisioned"
	// ReasonDeleted: the user is gone from Okta, found by a full run.
	ReasonDeleted Reason = "deleted"
)

// Change is one change applied (or planned) by a sync; a plain value that
// OnChange may keep.
type Change struct {
	Op      string   `json:"op"` // upsert_user, deactivate_user, upsert_group, set_members, delete_group
	User    *User    `json:"user,omitempty"`
	Group   *Group   `json:"group,omitempty"`
	ID      string   `json:"id,omitempty"`      // deactivate_user, set_members, delete_group
	Reason  Reason   `json:"reason,omitempty"`  // deactivate_user
	Members []string `json:"members,omitempty"` // set_members
}
