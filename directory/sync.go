package directory

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"time"
)

// ErrTooManyDeactivations is returned (wrapped) by Sync when a run would
// deactivate more users or delete more groups than the safety limit
// allows (SyncOptions.MaxDeactivate). None of them is applied; the rest
// of the run is.
var ErrTooManyDeactivations = errors.New("directory: too many deactivations")

// Sync defaults.
const (
	DefaultFullEvery       = 24 * time.Hour
	defaultCheckpointEvery = 10 * time.Second
	watermarkOverlap       = 5 * time.Minute
	// deactivation limit: this percentage of the users (groups) the app
	// has, and never less than the floor.
	defaultDeactivatePercent = 5
	defaultDeactivateFloor   = 10
)

// SyncOptions configure a [Sync]. The zero value is usable: a full run
// each time, nothing remembered. Its callbacks run on the goroutine that
// called Sync.
type SyncOptions struct {
	// State keeps the watermark, the known ids and the checkpoint of an
	// unfinished run. nil: an in-memory store, so every run is full and
	// hard-deleted users are never found. Use FileState or your own.
	State StateStore
	// Full forces a full reconciliation. Otherwise a run is full when the
	// state has none yet or the last one is FullEvery old.
	Full bool
	// FullEvery is how often a full run finds hard-deleted users and
	// groups; default DefaultFullEvery (a day).
	FullEvery time.Duration
	// MaxDeactivate is the most users one run may deactivate, and groups
	// it may delete; over it none is, and Sync returns
	// ErrTooManyDeactivations. Default: 5 % of the users (groups) the app
	// has from Okta, at least 10. A misconfigured filter or a token that
	// sees nothing then never wipes the app's users.
	MaxDeactivate int
	// DryRun reads Okta and reports the plan through OnChange and the
	// Summary, without calling the sink or saving the state.
	DryRun bool
	// OnChange, if set, is called with each change applied (or planned in
	// a dry run), from the goroutine that called Sync.
	OnChange func(Change)
	// Progress, if set, is called after each page, from the goroutine
	// that called Sync.
	Progress func(Progress)
	// CheckpointEvery is how often the state is saved during a run, so a
	// crashed run resumes near where it stopped; default 10 s. A failed or
	// canceled run saves it at once.
	CheckpointEvery time.Duration
	// EndSessions, if set, ends the app's sessions of users who become
	// SUSPENDED or DEPROVISIONED in Okta or are deleted from it (see
	// [SessionEnder] for which users and when); *oktasso.Auth is one. nil:
	// a sync ends no session.
	EndSessions SessionEnder
	// SessionIssuer is the issuer of the app's sign-ins, passed to
	// EndSessions with each user id: the oktasso.Config's Issuer (the org
	// URL, or a custom authorization server's issuer). Required with
	// EndSessions.
	SessionIssuer string
}

// Progress is a sync's progress, reported after each page; a plain value.
type Progress struct {
	Phase       string        // "users", "deprovisioned", "groups" or "deactivations"
	Users       int           // users read so far
	Groups      int           // groups read so far
	Members     int           // memberships read so far
	Pages       int           // pages read so far
	KnownUsers  int           // in a full run, the users the app had before it: an estimate of the total; else 0
	KnownGroups int           // likewise for groups
	Elapsed     time.Duration // since the run (or its resumption) started
}

// Summary is what a sync did; a plain value, JSON-friendly (durations in
// nanoseconds).
type Summary struct {
	Full    bool `json:"full"`
	DryRun  bool `json:"dry_run"`
	Resumed bool `json:"resumed"`

	Users         int `json:"users"`          // users read
	Upserted      int `json:"upserted"`       // users upserted
	Suspended     int `json:"suspended"`      // of those, SUSPENDED
	Deprovisioned int `json:"deprovisioned"`  // deactivations for DEPROVISIONED users
	Deleted       int `json:"deleted"`        // deactivations for users gone from Okta
	Deactivated   int `json:"deactivated"`    // deactivations applied
	Blocked       int `json:"blocked"`        // deactivations and group deletions withheld by the limit
	SessionsEnded int `json:"sessions_ended"` // users whose sessions were ended (SyncOptions.EndSessions)

	Groups        int `json:"groups"`         // groups read and upserted
	GroupsDeleted int `json:"groups_deleted"` // groups gone from Okta, deleted or emptied
	MemberLists   int `json:"member_lists"`   // SetMembers calls
	Members       int `json:"members"`        // memberships read

	Pages     int           `json:"pages"`      // pages read
	Requests  int64         `json:"requests"`   // HTTP requests, retries included
	Retries   int64         `json:"retries"`    // 5xx and network retries
	Throttled int64         `json:"throttled"`  // 429 answers
	RateWaits int64         `json:"rate_waits"` // waits for X-Rate-Limit-Reset
	RateWait  time.Duration `json:"rate_wait_ns"`
	Started   time.Time     `json:"started"`
	Duration  time.Duration `json:"duration_ns"`
}

// Sync brings sink in step with the org: users changed since the last run
// (all of them in a full run), then groups and, for groups whose
// membership changed, their members, then the deactivations of
// deprovisioned users and, in a full run, of users gone from Okta —
// unless there are more than SyncOptions.MaxDeactivate of them. A failed
// or canceled run saves a checkpoint; the next run resumes from it. A
// page counts as done, and a checkpoint past it is saved, only after the
// sink applied it (and flushed it, for a [Flusher]); the final state is
// saved after the last flush. With SyncOptions.EndSessions it also ends
// the app's sessions of users who became SUSPENDED or DEPROVISIONED or
// were deleted ([SessionEnder]), as part of the page or the deactivations
// that find them. Sync returns what it did, also on error.
//
// Run one Sync at a time per StateStore. The Client may meanwhile serve
// other goroutines (UserGroups at sign-in, say); they share its token and
// rate limits.
func Sync(ctx context.Context, c *Client, sink Sink, opts SyncOptions) (Summary, error) {
	r, err := newSyncRun(ctx, c, sink, opts)
	if err != nil {
		return Summary{}, err
	}
	err = r.run(ctx)
	r.finishSummary()
	if err != nil && !errors.Is(err, ErrTooManyDeactivations) && !opts.DryRun {
		// Save where the run stopped, even when ctx was canceled.
		if serr := r.opts.State.Save(context.WithoutCancel(ctx), r.checkpoint()); serr != nil {
			err = errors.Join(err, serr)
		}
	}
	return *r.sum, err
}

// syncRun is one run of Sync.
type syncRun struct {
	c     *Client
	sink  Sink
	opts  SyncOptions
	st    State
	cp    *Checkpoint
	sum   *Summary
	since time.Time // incremental runs read changes after this
	// endSince: users SUSPENDED or DEPROVISIONED after this have their
	// sessions ended; zero: all of them (see endUserSessions)
	endSince time.Time

	users, groups idSet    // known to the app; true: read by this full run
	pageGroups    []string // groups of the current page, known once it is done
	knownUsers    int      // at the start, for the limit
	knownGroups   int
	start         time.Time
	lastSave      time.Time
	stats         clientCounts // at the start
}

func newSyncRun(ctx context.Context, c *Client, sink Sink, opts SyncOptions) (*syncRun, error) {
	if opts.State == nil {
		opts.State = &memoryState{}
	}
	if opts.FullEvery <= 0 {
		opts.FullEvery = DefaultFullEvery
	}
	if opts.CheckpointEvery <= 0 {
		opts.CheckpointEvery = defaultCheckpointEvery
	}
	if opts.EndSessions != nil && opts.SessionIssuer == "" {
		return nil, errors.New("directory: SyncOptions.EndSessions is set without SessionIssuer: set it to the issuer of the app's sign-ins (its oktasso.Config's Issuer)")
	}
	st, err := opts.State.Load(ctx)
	if err != nil {
		return nil, err
	}
	now := c.now()
	r := &syncRun{
		c: c, sink: sink, opts: opts, st: st, start: now, lastSave: now,
		knownUsers: len(st.Users), knownGroups: len(st.Groups),
		stats: c.stats.counts(),
	}
	if st.Run != nil {
		r.cp = st.Run
		r.cp.Summary.Resumed = true
	} else {
		full := opts.Full || st.LastFull.IsZero() || st.Watermark.IsZero() || now.Sub(st.LastFull) >= opts.FullEvery || sessionsBehind(st, opts)
		r.cp = &Checkpoint{Started: now, Full: full, Phase: "users", Summary: Summary{Full: full, Started: now}, EndSessions: opts.EndSessions != nil}
	}
	if !st.SessionsWatermark.IsZero() {
		r.endSince = st.SessionsWatermark.Add(-watermarkOverlap)
	}
	r.st.Run = nil
	r.sum = &r.cp.Summary
	r.sum.DryRun = opts.DryRun
	r.since = st.Watermark.Add(-watermarkOverlap)
	r.users, r.groups = newIDSet(st.Users, r.cp.SeenUsers), newIDSet(st.Groups, r.cp.SeenGroups)
	r.cp.SeenUsers, r.cp.SeenGroups = nil, nil
	return r, nil
}

// run reads the phases from the checkpoint's on, then applies the
// deactivations and saves the state.
func (r *syncRun) run(ctx context.Context) error {
	phases := []string{"users", "groups"}
	if r.cp.Full {
		phases = []string{"users", "deprovisioned", "groups"}
	}
	started := r.cp.Phase == "deactivations" // failed while applying them
	for _, p := range phases {
		if started && r.cp.Phase == "deactivations" {
			break
		}
		if p == r.cp.Phase {
			started = true
		}
		if !started {
			continue
		}
		r.cp.Phase = p
		if err := r.phase(ctx, p); err != nil {
			return err
		}
		r.cp.Next = ""
	}
	if !started {
		return fmt.Errorf("directory: the state's checkpoint has an unknown phase %q (delete the state's \"run\" to start over)", r.cp.Phase)
	}
	r.cp.Phase = "deactivations"
	return r.finish(ctx)
}

// phase reads one listing from the checkpoint's Next page on.
func (r *syncRun) phase(ctx context.Context, name string) error {
	start := r.cp.Next
	switch {
	case start != "":
	case name == "users" && r.cp.Full:
		start = r.c.listURL("/api/v1/users", maxPageUsers, nil)
	case name == "users":
		start = r.c.listURL("/api/v1/users", maxPageUsers, filterQuery(UpdatedSince(r.since)))
	case name == "deprovisioned":
		start = r.c.listURL("/api/v1/users", maxPageUsers, filterQuery(`status eq "DEPROVISIONED"`))
	case name == "groups" && r.cp.Full:
		start = r.c.listURL("/api/v1/groups", maxPageUsers, nil)
	default:
		t := oktaTime(r.since)
		start = r.c.listURL("/api/v1/groups", maxPageUsers, url.Values{"filter": {`lastUpdated gt "` + t + `" or lastMembershipUpdated gt "` + t + `"`}})
	}
	if name == "groups" {
		return listPages(ctx, r.c, start, func(items []apiGroup, next string) error {
			for i := range items {
				if err := r.group(ctx, items[i].group()); err != nil {
					return err
				}
			}
			return r.pageDone(ctx, next)
		})
	}
	return listPages(ctx, r.c, start, func(items []User, next string) error {
		for i := range items {
			if err := r.user(ctx, items[i].fromAPI()); err != nil {
				return err
			}
		}
		return r.pageDone(ctx, next)
	})
}

// pageDone flushes the sink, then records that the page before next is
// applied, reports progress and saves a checkpoint when one is due.
func (r *syncRun) pageDone(ctx context.Context, next string) error {
	if err := r.flush(ctx); err != nil {
		return err
	}
	for _, id := range r.pageGroups {
		r.groups[id] = true
	}
	r.pageGroups = r.pageGroups[:0]
	r.cp.Next = next
	r.sum.Pages++
	if r.opts.Progress != nil {
		r.opts.Progress(r.progress())
	}
	if r.opts.DryRun || next == "" || r.c.now().Sub(r.lastSave) < r.opts.CheckpointEvery {
		return ctx.Err()
	}
	r.lastSave = r.c.now()
	if err := r.opts.State.Save(ctx, r.checkpoint()); err != nil {
		return err
	}
	return ctx.Err()
}

func (r *syncRun) progress() Progress {
	p := Progress{
		Phase: r.cp.Phase, Users: r.sum.Users, Groups: r.sum.Groups, Members: r.sum.Members, Pages: r.sum.Pages,
		Elapsed: r.c.now().Sub(r.start),
	}
	if r.cp.Full {
		p.KnownUsers, p.KnownGroups = r.knownUsers, r.knownGroups
	}
	return p
}

// user handles a user read in the users or deprovisioned phase.
func (r *syncRun) user(ctx context.Context, u User) error {
	r.sum.Users++
	if u.Deprovisioned() {
		known := r.users.has(u.ID)
		if known {
			r.cp.Pending = append(r.cp.Pending, Deactivation{ID: u.ID, Reason: ReasonDeprovisioned})
			delete(r.users, u.ID) // pending: not counted as deleted again
		}
		return r.endUserSessions(ctx, u, known)
	}
	r.users[u.ID] = true
	r.sum.Upserted++
	if u.Suspended() {
		r.sum.Suspended++
	}
	if err := r.apply(ctx, Change{Op: "upsert_user", User: &u}, func() error { return r.sink.UpsertUser(ctx, u) }); err != nil {
		return err
	}
	return r.endUserSessions(ctx, u, false)
}

// flush makes the sink's writes durable if it buffers them ([Flusher])
// and keeps the mark it returns for the next state saved.
func (r *syncRun) flush(ctx context.Context) error {
	f, ok := r.sink.(Flusher)
	if !ok || r.opts.DryRun {
		return nil
	}
	mark, err := f.Flush(ctx)
	if err != nil {
		return fmt.Errorf("directory: sink: flush: %w", err)
	}
	r.st.SinkMark = mark
	return nil
}

// group upserts a group and, in a full run or when its membership changed
// since the watermark (or it is new), sets its members. The group becomes
// known when its page is done: a page repeated after a failure sets the
// members of a new group again.
func (r *syncRun) group(ctx context.Context, g Group) error {
	r.sum.Groups++
	isNew := !r.groups.has(g.ID)
	r.pageGroups = append(r.pageGroups, g.ID)
	if err := r.apply(ctx, Change{Op: "upsert_group", Group: &g}, func() error { return r.sink.UpsertGroup(ctx, g) }); err != nil {
		return err
	}
	if g.everyone() || !(r.cp.Full || isNew || g.LastMembershipUpdated.After(r.since)) {
		return nil
	}
	var members []string
	err := listPages(ctx, r.c, r.c.membersURL(g.ID), func(items []User, _ string) error {
		r.sum.Pages++
		for i := range items {
			if items[i].Status != StatusDeprovisioned {
				members = append(members, items[i].ID)
			}
		}
		r.sum.Members += len(items)
		return ctx.Err()
	})
	if err != nil {
		return err
	}
	r.sum.MemberLists++
	return r.apply(ctx, Change{Op: "set_members", ID: g.ID, Members: members}, func() error { return r.sink.SetMembers(ctx, g.ID, members) })
}

// apply reports a change and, unless in a dry run, makes it.
func (r *syncRun) apply(ctx context.Context, ch Change, do func() error) error {
	if r.opts.OnChange != nil {
		r.opts.OnChange(ch)
	}
	if r.opts.DryRun {
		return nil
	}
	if err := do(); err != nil {
		return fmt.Errorf("directory: sink: %s %s: %w", ch.Op, changeID(ch), err)
	}
	return nil
}

func changeID(ch Change) string {
	switch {
	case ch.User != nil:
		return ch.User.ID
	case ch.Group != nil:
		return ch.Group.ID
	}
	return ch.ID
}

// limit returns the most deactivations allowed among known objects.
func (r *syncRun) limit(known int) int {
	if r.opts.MaxDeactivate > 0 {
		return r.opts.MaxDeactivate
	}
	return max(defaultDeactivateFloor, known*defaultDeactivatePercent/100)
}

// finish finds what a full run did not see, applies the deactivations and
// group deletions within the limit, flushes the sink and saves the state.
// Until the flush, the deactivated users and deleted groups stay known
// and pending: a run that fails before it repeats them all.
func (r *syncRun) finish(ctx context.Context) error {
	var deletedGroups []string
	if r.cp.Full {
		deletedGroups = r.findDeleted()
	}
	var errs []error
	usersBlocked := len(r.cp.Pending) > r.limit(r.knownUsers)
	if usersBlocked {
		r.sum.Blocked += len(r.cp.Pending)
		errs = append(errs, fmt.Errorf("%w: %d users would be deactivated, more than the limit of %d; none was (check the app's scopes and admin role, or raise the limit if Okta really lost them)", ErrTooManyDeactivations, len(r.cp.Pending), r.limit(r.knownUsers)))
	} else if err := r.deactivatePending(ctx); err != nil {
		return err
	}
	if n, limit := len(deletedGroups), r.limit(r.knownGroups); n > limit {
		r.sum.Blocked += n
		errs = append(errs, fmt.Errorf("%w: %d groups would be deleted, more than the limit of %d; none was", ErrTooManyDeactivations, n, limit))
		deletedGroups = nil
	} else if err := r.deleteGroups(ctx, deletedGroups); err != nil {
		return err
	}
	if err := r.flush(ctx); err != nil {
		return err // alone: the run must save its checkpoint
	}
	for _, d := range r.cp.Pending {
		if usersBlocked {
			r.users[d.ID] = false // still the app's: found again next time
		} else {
			delete(r.users, d.ID)
		}
	}
	for _, id := range deletedGroups {
		delete(r.groups, id)
	}
	r.cp.Pending = nil
	if r.opts.DryRun {
		return errors.Join(errs...)
	}
	if err := r.saveState(ctx, len(errs) > 0); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// findDeleted makes the users a full run did not see the pending deleted
// ones (a resumed run has them already) and returns the groups it did not
// see, both in the order of their ids, so that a resumed run applies them
// in the same order.
func (r *syncRun) findDeleted() []string {
	r.cp.Pending = slices.DeleteFunc(r.cp.Pending, func(d Deactivation) bool { return d.Reason == ReasonDeleted })
	var users []string
	for id, seen := range r.users {
		if !seen {
			users = append(users, id)
		}
	}
	slices.Sort(users)
	for _, id := range users {
		r.cp.Pending = append(r.cp.Pending, Deactivation{ID: id, Reason: ReasonDeleted})
	}
	var groups []string
	for id, seen := range r.groups {
		if !seen {
			groups = append(groups, id)
		}
	}
	slices.Sort(groups)
	return groups
}

// deactivatePending deactivates the pending users, stopping at the first
// error of the sink.
func (r *syncRun) deactivatePending(ctx context.Context) error {
	for _, d := range r.cp.Pending {
		if d.Reason == ReasonDeleted {
			r.sum.Deleted++
		} else {
			r.sum.Deprovisioned++
		}
		if err := r.apply(ctx, Change{Op: "deactivate_user", ID: d.ID, Reason: d.Reason}, func() error { return r.sink.DeactivateUser(ctx, d.ID, d.Reason) }); err != nil {
			return err
		}
		r.sum.Deactivated++
		if d.Reason == ReasonDeleted {
			if err := r.endSessions(ctx, d.ID, ReasonDeleted); err != nil {
				return err
			}
		}
	}
	return nil
}

// deleteGroups deletes the groups with ids, stopping at the first error of
// the sink.
func (r *syncRun) deleteGroups(ctx context.Context, ids []string) error {
	for _, id := range ids {
		if err := r.deleteGroup(ctx, id); err != nil {
			return err
		}
		r.sum.GroupsDeleted++
	}
	return nil
}

// saveState saves the state at the end of a run: the watermark, the time
// of a full run unless deactivations were blocked (the next run is then a
// full one), and the objects known.
func (r *syncRun) saveState(ctx context.Context, blocked bool) error {
	r.st.Watermark = r.cp.Started
	if r.cp.Full {
		r.st.LastFull = r.cp.Started
	}
	if blocked {
		r.st.LastFull = time.Time{} // look again next run, in full
	}
	if r.opts.EndSessions != nil && r.cp.EndSessions {
		r.st.SessionsWatermark = r.cp.Started
	}
	r.st.Users, r.st.Groups = r.users.sorted(false), r.groups.sorted(false)
	return r.opts.State.Save(ctx, r.st)
}

func (r *syncRun) deleteGroup(ctx context.Context, id string) error {
	if d, ok := r.sink.(GroupDeleter); ok {
		return r.apply(ctx, Change{Op: "delete_group", ID: id}, func() error { return d.DeleteGroup(ctx, id) })
	}
	return r.apply(ctx, Change{Op: "set_members", ID: id}, func() error { return r.sink.SetMembers(ctx, id, nil) })
}

// checkpoint returns the state to save mid-run.
func (r *syncRun) checkpoint() State {
	st := r.st
	st.Users, st.Groups = r.users.sorted(false), r.groups.sorted(false)
	cp := *r.cp
	if cp.Full {
		cp.SeenUsers, cp.SeenGroups = r.users.sorted(true), r.groups.sorted(true)
	}
	st.Run = &cp
	return st
}

// finishSummary adds the client's request counts and the duration.
func (r *syncRun) finishSummary() {
	now := r.c.stats.counts()
	r.sum.Requests += now.requests - r.stats.requests
	r.sum.Retries += now.retries - r.stats.retries
	r.sum.Throttled += now.tooMany - r.stats.tooMany
	r.sum.RateWaits += now.rateWaits - r.stats.rateWaits
	r.sum.RateWait += time.Duration(now.waited - r.stats.waited)
	r.sum.Duration += r.c.now().Sub(r.start)
	r.stats = now
}
