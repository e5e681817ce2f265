package directory

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/oktasso/oktasso/oktatest"
)

// memSink is an app's accounts in memory. fail, if set, is called before
// each upsert with the number of upserts so far and may fail it.
type memSink struct {
	users       map[string]User
	deactivated map[string]Reason
	groups      map[string]Group
	members     map[string][]string
	upserts     int
	setMembers  int
	fail        func(upserts int) error
}

func newMemSink() *memSink {
	return &memSink{users: map[string]User{}, deactivated: map[string]Reason{}, groups: map[string]Group{}, members: map[string][]string{}}
}

func (s *memSink) UpsertUser(_ context.Context, u User) error {
	if s.fail != nil {
		if err := s.fail(s.upserts); err != nil {
			return err
		}
	}
	s.upserts++
	s.users[u.ID] = u
	delete(s.deactivated, u.ID)
	return nil
}

func (s *memSink) DeactivateUser(_ context.Context, id string, r Reason) error {
	s.deactivated[id] = r
	return nil
}

func (s *memSink) UpsertGroup(_ context.Context, g Group) error {
	s.groups[g.ID] = g
	return nil
}

func (s *memSink) SetMembers(_ context.Context, id string, users []string) error {
	s.setMembers++
	s.members[id] = slices.Sorted(slices.Values(users))
	return nil
}

// deleterSink is a memSink that deletes groups.
type deleterSink struct{ *memSink }

func (s deleterSink) DeleteGroup(_ context.Context, id string) error {
	delete(s.groups, id)
	delete(s.members, id)
	return nil
}

// populate adds groups and users (each in two groups) plus a suspended and
// a deprovisioned user.
func (f *fake) populate(groups, users int) (suspended, deprovisioned oktatest.User) {
	f.srv.AddGeneratedGroups(groups)
	f.srv.AddGeneratedUsers(users, 2)
	suspended = f.srv.AddUser(oktatest.User{Login: "sus@example.com", Status: "SUSPENDED", Groups: []string{"Generated Group 1"}})
	deprovisioned = f.srv.AddUser(oktatest.User{Login: "gone@example.com", Status: "DEPROVISIONED", Groups: []string{"Generated Group 1"}})
	return suspended, deprovisioned
}

// members returns the fake's non-deprovisioned members of a group, sorted.
func (f *fake) members(t *testing.T, c *Client, groupID string) []string {
	t.Helper()
	var ids []string
	for u, err := range c.GroupMembers(context.Background(), groupID) {
		if err != nil {
			t.Fatal(err)
		}
		if !u.Deprovisioned() {
			ids = append(ids, u.ID)
		}
	}
	slices.Sort(ids)
	return ids
}

// tempState is a FileState in the test's temporary directory.
func tempState(t *testing.T) FileState { return FileState(filepath.Join(t.TempDir(), "state.json")) }

func mustSync(t *testing.T, c *Client, sink Sink, opts SyncOptions) Summary {
	t.Helper()
	sum, err := Sync(context.Background(), c, sink, opts)
	if err != nil {
		t.Fatalf("Sync: %v", err)
	}
	return sum
}

func TestSyncFull(t *testing.T) {
	for _, combined := range []bool{false, true} {
		t.Run(fmt.Sprintf("combined Link %v", combined), func(t *testing.T) {
			f := newFake(t)
			f.srv.CombineLinkHeaders(combined)
			sus, gone := f.populate(5, 430)
			cfg := f.config()
			cfg.PageSize = 40
			c := f.client(t, cfg)
			sink := newMemSink()
			var progress []Progress
			sum := mustSync(t, c, sink, SyncOptions{State: tempState(t), Progress: func(p Progress) { progress = append(progress, p) }})

			if !sum.Full || sum.Users != 432 || sum.Upserted != 431 || sum.Suspended != 1 || sum.Groups != 6 || sum.MemberLists != 5 {
				t.Errorf("Summary = %+v; want a full run of 432 users (431 upserted, 1 suspended) and 6 groups with 5 member lists", sum)
			}
			if len(sink.users) != 431 || sink.users[sus.ID].Status != "SUSPENDED" {
				t.Errorf("sink has %d users, suspended user %+v; want 431 and SUSPENDED", len(sink.users), sink.users[sus.ID])
			}
			if _, ok := sink.users[gone.ID]; ok {
				t.Errorf("the DEPROVISIONED user was upserted")
			}
			if u := sink.users[sus.ID]; u.Login != "sus@example.com" || u.Email != "sus@example.com" || len(u.Profile) == 0 {
				t.Errorf("user = %+v; want login, email and profile", u)
			}
			// 11 pages of users, 1 of DEPROVISIONED users, 1 of groups, and
			// 5 per group of members (about 174 each).
			if sum.Pages != 13+5*5 || len(progress) != 13 || progress[len(progress)-1].Users != 432 {
				t.Errorf("Pages = %d, %d progress reports; want 38 pages and 13 reports", sum.Pages, len(progress))
			}
			for id, g := range sink.groups {
				if g.everyone() {
					if _, ok := sink.members[id]; ok {
						t.Errorf("members of Everyone were set")
					}
					continue
				}
				if want := f.members(t, c, id); !slices.Equal(sink.members[id], want) {
					t.Errorf("members of %s: %d; want %d", g.Name, len(sink.members[id]), len(want))
				}
			}
		})
	}
}

func TestSyncIncremental(t *testing.T) {
	f := newFake(t)
	sus, gone := f.populate(4, 100)
	f.clock.Add(time.Hour) // out of the watermark's overlap
	c := f.client(t, f.config())
	state := tempState(t)
	sink := newMemSink()
	mustSync(t, c, sink, SyncOptions{State: state})

	f.clock.Add(time.Hour)
	u, _ := f.srv.LookupUser("user7@generated.example")
	u.FirstName = "Renamed"
	f.srv.UpdateUser(u)
	f.srv.SetUserStatus(sus.ID, "ACTIVE")
	victim, _ := f.srv.LookupUser("user8@generated.example")
	f.srv.SetUserStatus(victim.ID, "DEPROVISIONED")
	g2, _ := f.srv.LookupGroup("Generated Group 2")
	f.srv.AddMember(g2.ID, gone.ID) // a deprovisioned member is not listed
	newcomer := f.srv.AddUser(oktatest.User{Login: "new@example.com", Groups: []string{"Generated Group 3"}})
	g3, _ := f.srv.LookupGroup("Generated Group 3")
	f.clock.Add(time.Hour)

	sum := mustSync(t, c, sink, SyncOptions{State: state})
	if sum.Full || sum.Upserted != 3 || sum.Deprovisioned != 1 || sum.Deactivated != 1 || sum.MemberLists != 2 {
		t.Errorf("Summary = %+v; want an incremental run: 3 upserts, 1 deprovisioned, 2 member lists", sum)
	}
	if sink.users[u.ID].FirstName != "Renamed" || sink.users[sus.ID].Status != "ACTIVE" || sink.users[newcomer.ID].ID == "" {
		t.Errorf("the updated, reactivated and new users were not upserted")
	}
	if sink.deactivated[victim.ID] != ReasonDeprovisioned {
		t.Errorf("deactivated = %v; want %s deprovisioned", sink.deactivated, victim.ID)
	}
	if !slices.Contains(sink.members[g3.ID], newcomer.ID) || slices.Contains(sink.members[g2.ID], gone.ID) {
		t.Errorf("members not updated: group 3 has the newcomer %v, group 2 has the deprovisioned user %v",
			slices.Contains(sink.members[g3.ID], newcomer.ID), slices.Contains(sink.members[g2.ID], gone.ID))
	}

	// Nothing changed: a third run reads nothing but the overlap.
	f.clock.Add(time.Hour)
	if sum := mustSync(t, c, sink, SyncOptions{State: state}); sum.Upserted != 0 || sum.Groups != 0 || sum.Deactivated != 0 {
		t.Errorf("idle run Summary = %+v; want nothing read", sum)
	}
	// A day later the run is full again.
	f.clock.Add(DefaultFullEvery)
	if sum := mustSync(t, c, sink, SyncOptions{State: state}); !sum.Full || sum.Deactivated != 0 {
		t.Errorf("day-later Summary = %+v; want a full run without deactivations", sum)
	}
}

func TestSyncReconcileDeletions(t *testing.T) {
	tests := []struct {
		name    string
		deleter bool
	}{{"sink deletes groups", true}, {"sink empties groups", false}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			f.populate(3, 60)
			c := f.client(t, f.config())
			state := tempState(t)
			mem := newMemSink()
			var sink Sink = mem
			if tt.deleter {
				sink = deleterSink{mem}
			}
			mustSync(t, c, sink, SyncOptions{State: state})
			f.clock.Add(time.Hour)
			u, _ := f.srv.LookupUser("user3@generated.example")
			f.srv.DeleteUser(u.ID)
			g, _ := f.srv.LookupGroup("Generated Group 2")
			f.srv.DeleteGroup(g.ID)

			if sum := mustSync(t, c, sink, SyncOptions{State: state}); sum.Deleted != 0 || len(mem.deactivated) != 0 {
				t.Errorf("incremental run found deletions: %+v", sum)
			}
			sum := mustSync(t, c, sink, SyncOptions{State: state, Full: true})
			if sum.Deleted != 1 || sum.GroupsDeleted != 1 || mem.deactivated[u.ID] != ReasonDeleted || len(mem.deactivated) != 1 {
				t.Errorf("full run: Summary %+v, deactivated %v; want %s deleted and one group deleted", sum, mem.deactivated, u.ID)
			}
			_, kept := mem.groups[g.ID]
			if kept == tt.deleter || len(mem.members[g.ID]) != 0 {
				t.Errorf("deleted group: kept %v with %d members; want kept %v, no members", kept, len(mem.members[g.ID]), !tt.deleter)
			}
			st, _ := state.Load(context.Background())
			if slices.Contains(st.Users, u.ID) || slices.Contains(st.Groups, g.ID) || len(st.Users) != 60 {
				t.Errorf("state still knows the deleted objects, or has %d users; want 60", len(st.Users))
			}
		})
	}
}

func TestSyncDeactivationLimit(t *testing.T) {
	tests := []struct {
		name    string
		delete  int
		max     int
		blocked bool
	}{
		{"at the floor", 10, 0, false},
		{"over 5 % and the floor", 11, 0, true},
		{"raised limit", 30, 30, false},
		{"explicit limit", 3, 2, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			f.srv.AddGeneratedUsers(200, 0)
			c := f.client(t, f.config())
			state := tempState(t)
			sink := newMemSink()
			mustSync(t, c, sink, SyncOptions{State: state})
			for i := range tt.delete {
				u, _ := f.srv.LookupUser(fmt.Sprintf("user%d@generated.example", i+1))
				f.srv.DeleteUser(u.ID)
			}
			f.clock.Add(time.Hour)
			sum, err := Sync(context.Background(), c, sink, SyncOptions{State: state, Full: true, MaxDeactivate: tt.max})
			if got := errors.Is(err, ErrTooManyDeactivations); got != tt.blocked {
				t.Fatalf("Sync = %v; want ErrTooManyDeactivations %v", err, tt.blocked)
			}
			st, _ := state.Load(context.Background())
			if !tt.blocked {
				if len(sink.deactivated) != tt.delete || sum.Deactivated != tt.delete {
					t.Errorf("deactivated %d (summary %d); want %d", len(sink.deactivated), sum.Deactivated, tt.delete)
				}
				return
			}
			if len(sink.deactivated) != 0 || sum.Blocked != tt.delete || sum.Upserted != 200-tt.delete {
				t.Errorf("blocked run deactivated %d, Blocked %d, upserted %d; want 0, %d, %d", len(sink.deactivated), sum.Blocked, sum.Upserted, tt.delete, 200-tt.delete)
			}
			if !st.LastFull.IsZero() || len(st.Users) != 200 {
				t.Errorf("state after a blocked run: LastFull %v, %d users; want zero (full next time) and 200", st.LastFull, len(st.Users))
			}
			// The next run is full again and, allowed, applies them.
			f.clock.Add(time.Hour)
			sum = mustSync(t, c, sink, SyncOptions{State: state, MaxDeactivate: tt.delete})
			if !sum.Full || len(sink.deactivated) != tt.delete {
				t.Errorf("next run: full %v, deactivated %d; want a full run deactivating %d", sum.Full, len(sink.deactivated), tt.delete)
			}
		})
	}
}

func TestSyncDryRun(t *testing.T) {
	f := newFake(t)
	f.populate(2, 30)
	c := f.client(t, f.config())
	state := tempState(t)
	sink := newMemSink()
	mustSync(t, c, sink, SyncOptions{State: state})
	before, _ := state.Load(context.Background())
	u, _ := f.srv.LookupUser("user1@generated.example")
	f.srv.DeleteUser(u.ID)
	f.clock.Add(time.Hour)

	dry := newMemSink()
	var plan []Change
	sum := mustSync(t, c, dry, SyncOptions{State: state, Full: true, DryRun: true, OnChange: func(ch Change) { plan = append(plan, ch) }})
	if len(dry.users)+len(dry.deactivated)+len(dry.groups) != 0 {
		t.Errorf("a dry run called the sink")
	}
	if !sum.DryRun || sum.Deleted != 1 || !slices.ContainsFunc(plan, func(ch Change) bool { return ch.Op == "deactivate_user" && ch.ID == u.ID && ch.Reason == ReasonDeleted }) {
		t.Errorf("dry run Summary %+v, %d changes; want the deletion of %s planned", sum, len(plan), u.ID)
	}
	after, _ := state.Load(context.Background())
	if !after.Watermark.Equal(before.Watermark) || len(after.Users) != len(before.Users) {
		t.Errorf("a dry run changed the state")
	}
}

// crashStore is a FileState whose process "dies" after keep saves: later
// saves, including the one of the failing run, are lost.
type crashStore struct {
	FileState
	keep, saves int
}

func (s *crashStore) Save(ctx context.Context, st State) error {
	s.saves++
	if s.saves > s.keep {
		return nil
	}
	return s.FileState.Save(ctx, st)
}

func TestSyncResumeAfterCrash(t *testing.T) {
	f := newFake(t)
	f.srv.AddGeneratedGroups(3)
	f.srv.AddGeneratedUsers(1000, 1)
	cfg := f.config()
	cfg.PageSize = 100
	c := f.client(t, cfg)
	path := tempState(t)
	sink := newMemSink()
	mustSync(t, c, sink, SyncOptions{State: path})
	f.clock.Add(time.Hour)

	// A forced full run checkpoints every 30 s (each upsert takes 1 s of
	// the fake clock) and dies at the 700th upsert, after 4 checkpoints.
	crash := &crashStore{FileState: path, keep: 4}
	sink.fail = func(n int) error {
		f.clock.Add(time.Second)
		if n == 1000+700 {
			return errors.New("killed")
		}
		return nil
	}
	if _, err := Sync(context.Background(), c, sink, SyncOptions{State: crash, Full: true, CheckpointEvery: 30 * time.Second}); err == nil || !strings.Contains(err.Error(), "killed") {
		t.Fatalf("Sync = %v; want the sink's failure", err)
	}
	st, _ := path.Load(context.Background())
	if st.Run == nil || !st.Run.Full || len(st.Run.SeenUsers) != 400 || !strings.Contains(st.Run.Next, "after=") {
		t.Fatalf("checkpoint on disk: %+v; want a full run with 400 users seen and the next page", st.Run)
	}

	sink.fail = nil
	before := sink.upserts
	sum := mustSync(t, c, sink, SyncOptions{State: path})
	if !sum.Resumed || !sum.Full || len(sink.deactivated) != 0 || sum.Deleted != 0 {
		t.Errorf("resumed run: %+v, deactivated %v; want a resumed full run without deletions", sum, sink.deactivated)
	}
	if got := sink.upserts - before; got != 600 {
		t.Errorf("the resumed run upserted %d users; want the 600 after the checkpoint", got)
	}
	st, _ = path.Load(context.Background())
	if st.Run != nil || len(st.Users) != 1000 || len(st.Groups) != 4 {
		t.Errorf("final state: run %v, %d users, %d groups; want no checkpoint, 1000 and 4", st.Run, len(st.Users), len(st.Groups))
	}
}
