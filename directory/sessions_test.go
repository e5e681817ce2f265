package directory

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/oktasso/oktasso"
	"github.com/oktasso/oktasso/oktatest"
)

// testIssuer is the issuer of the app's sign-ins in these tests: a custom
// authorization server, so that it differs from the org URL.
const testIssuer = "https://app-issuer.example/oauth2/default"

// errStoreDown is the failure fakeEnder injects.
var errStoreDown = errors.New("session store unreachable")

// fakeEnder records the users whose sessions a sync ends, like an app's
// shared store of "not before" marks: ending twice changes nothing. fail,
// if set, is called before each call with the number of calls so far and
// may fail it.
type fakeEnder struct {
	t     *testing.T
	calls []string // subjects, in call order, failed calls excluded
	ended map[string]int
	fail  func(n int, subject string) error
}

func newFakeEnder(t *testing.T) *fakeEnder { return &fakeEnder{t: t, ended: map[string]int{}} }

func (e *fakeEnder) EndSessions(_ context.Context, issuer, subject string) error {
	if issuer != testIssuer {
		e.t.Errorf("EndSessions(%q, %q): issuer %q; want %q", issuer, subject, issuer, testIssuer)
	}
	if e.fail != nil {
		if err := e.fail(len(e.calls), subject); err != nil {
			return err
		}
	}
	e.calls = append(e.calls, subject)
	e.ended[subject]++
	return nil
}

// reset forgets the calls seen so far.
func (e *fakeEnder) reset() {
	e.calls = nil
	clear(e.ended)
}

// sorted returns the subjects called since the last reset, each once, in
// order.
func (e *fakeEnder) sorted() []string {
	out := slices.Sorted(func(yield func(string) bool) {
		for id := range e.ended {
			if !yield(id) {
				return
			}
		}
	})
	return out
}

func endOpts(state StateStore, ender SessionEnder) SyncOptions {
	return SyncOptions{State: state, EndSessions: ender, SessionIssuer: testIssuer}
}

func TestSyncEndSessions(t *testing.T) {
	// Each case starts after a first run with EndSessions over an org with
	// active users, a suspended and a deprovisioned one; change makes
	// Okta's changes and returns the ids whose sessions the next run must
	// end.
	tests := []struct {
		name   string
		full   bool
		change func(f *fake, sus, gone oktatest.User) []string
	}{
		{"ACTIVE to SUSPENDED", false, func(f *fake, _, _ oktatest.User) []string {
			return []string{f.setStatus("user3@generated.example", "SUSPENDED")}
		}},
		{"ACTIVE to DEPROVISIONED", false, func(f *fake, _, _ oktatest.User) []string {
			return []string{f.setStatus("user4@generated.example", "DEPROVISIONED")}
		}},
		{"SUSPENDED to DEPROVISIONED", false, func(f *fake, sus, _ oktatest.User) []string {
			return []string{f.setStatus(sus.Login, "DEPROVISIONED")}
		}},
		{"ACTIVE to SUSPENDED, full run", true, func(f *fake, _, _ oktatest.User) []string {
			return []string{f.setStatus("user3@generated.example", "SUSPENDED")}
		}},
		{"ACTIVE to DEPROVISIONED, full run", true, func(f *fake, _, _ oktatest.User) []string {
			return []string{f.setStatus("user4@generated.example", "DEPROVISIONED")}
		}},
		{"deleted, full run", true, func(f *fake, _, _ oktatest.User) []string {
			u, _ := f.srv.LookupUser("user5@generated.example")
			f.srv.DeleteUser(u.ID)
			return []string{u.ID}
		}},
		{"deleted, incremental run: found by the next full one", false, func(f *fake, _, _ oktatest.User) []string {
			u, _ := f.srv.LookupUser("user5@generated.example")
			f.srv.DeleteUser(u.ID)
			return nil
		}},
		{"reactivated (SUSPENDED to ACTIVE)", false, func(f *fake, sus, _ oktatest.User) []string {
			f.setStatus(sus.Login, "ACTIVE")
			return nil
		}},
		{"suspended and reactivated between two runs", false, func(f *fake, _, _ oktatest.User) []string {
			f.setStatus("user6@generated.example", "SUSPENDED")
			f.setStatus("user6@generated.example", "ACTIVE")
			return nil
		}},
		{"still suspended, profile edited: ended again, harmlessly", false, func(f *fake, sus, _ oktatest.User) []string {
			sus.FirstName = "Renamed"
			f.srv.UpdateUser(sus)
			return []string{sus.ID}
		}},
		{"nothing changed", false, func(*fake, oktatest.User, oktatest.User) []string { return nil }},
		{"nothing changed, full run: old suspensions are not ended again", true, func(*fake, oktatest.User, oktatest.User) []string { return nil }},
		{"several at once", true, func(f *fake, sus, _ oktatest.User) []string {
			u, _ := f.srv.LookupUser("user7@generated.example")
			f.srv.DeleteUser(u.ID)
			f.setStatus(sus.Login, "ACTIVE")
			return []string{u.ID, f.setStatus("user8@generated.example", "SUSPENDED"), f.setStatus("user9@generated.example", "DEPROVISIONED")}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			sus, gone := f.populate(2, 20)
			f.clock.Add(time.Hour) // out of the watermark's overlap
			cfg := f.config()
			cfg.PageSize = 5
			c := f.client(t, cfg)
			state := tempState(t)
			sink := newMemSink()
			ender := newFakeEnder(t)
			mustSync(t, c, sink, endOpts(state, ender))
			ender.reset()

			f.clock.Add(time.Hour)
			want := tt.change(f, sus, gone)
			f.clock.Add(time.Hour)
			opts := endOpts(state, ender)
			opts.Full = tt.full
			var changes []Change
			opts.OnChange = func(ch Change) {
				if ch.Op == "end_sessions" {
					changes = append(changes, ch)
				}
			}
			sum := mustSync(t, c, sink, opts)
			slices.Sort(want)
			if got := ender.sorted(); !slices.Equal(got, want) || len(ender.calls) != len(want) {
				t.Errorf("sessions ended: %v (calls %v); want %v", got, ender.calls, want)
			}
			if sum.SessionsEnded != len(want) || len(changes) != len(want) {
				t.Errorf("Summary.SessionsEnded = %d, %d end_sessions changes; want %d", sum.SessionsEnded, len(changes), len(want))
			}
			for _, ch := range changes {
				u, found := f.srv.LookupUser(ch.ID)
				ok := ch.Issuer == testIssuer && (ch.Reason == ReasonSuspended && u.Status == "SUSPENDED" && sink.users[ch.ID].Suspended() ||
					ch.Reason == ReasonDeprovisioned && u.Status == "DEPROVISIONED" ||
					ch.Reason == ReasonDeleted && !found && sink.deactivated[ch.ID] == ReasonDeleted)
				if !ok {
					t.Errorf("change %+v; want the issuer and the user's status in Okta (%q, found %v)", ch, u.Status, found)
				}
			}
		})
	}
}

// setStatus sets the status of the user with login and returns its id.
func (f *fake) setStatus(login, status string) string {
	u, ok := f.srv.LookupUser(login)
	if !ok {
		panic("no user " + login)
	}
	f.srv.SetUserStatus(u.ID, status)
	return u.ID
}

func TestSyncEndSessionsFirstRun(t *testing.T) {
	// The first run that ends sessions ends those of every SUSPENDED and
	// DEPROVISIONED user: the app cannot know whether they signed in
	// before it ran. That is the first run of all, or the first with
	// EndSessions after runs without it, which is then full.
	tests := []struct {
		name      string
		runsFirst int  // runs without EndSessions before
		fullAfter bool // the run with it is full although the state says incremental
	}{
		{"first run of all", 0, false},
		{"turned on after runs without it", 2, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			sus, gone := f.populate(2, 30)
			longGone := f.srv.AddUser(oktatest.User{Login: "left-long-ago@example.com", Status: "DEPROVISIONED"})
			f.clock.Add(time.Hour) // out of the watermark's overlap
			c := f.client(t, f.config())
			state := tempState(t)
			sink := newMemSink()
			for range tt.runsFirst {
				mustSync(t, c, sink, SyncOptions{State: state})
				f.clock.Add(time.Hour)
			}
			ender := newFakeEnder(t)
			sum := mustSync(t, c, sink, endOpts(state, ender))
			want := []string{sus.ID, gone.ID, longGone.ID}
			slices.Sort(want)
			if got := ender.sorted(); !slices.Equal(got, want) || !sum.Full {
				t.Errorf("first run with EndSessions (full %v) ended %v; want a full run ending %v", sum.Full, got, want)
			}
			st, _ := state.Load(context.Background())
			if !st.SessionsWatermark.Equal(st.Watermark) {
				t.Errorf("SessionsWatermark %v, Watermark %v; want them equal", st.SessionsWatermark, st.Watermark)
			}

			// The next run is incremental again and ends nothing.
			f.clock.Add(time.Hour)
			ender.reset()
			if sum := mustSync(t, c, sink, endOpts(state, ender)); sum.Full || len(ender.calls) != 0 {
				t.Errorf("next run: full %v, ended %v; want an incremental run ending nothing", sum.Full, ender.calls)
			}
			// A run without EndSessions, then one with it: full, and it ends
			// the suspension made in between but not the old ones.
			f.clock.Add(time.Hour)
			between := f.setStatus("user2@generated.example", "SUSPENDED")
			f.clock.Add(time.Hour)
			mustSync(t, c, sink, SyncOptions{State: state})
			f.clock.Add(time.Hour)
			ender.reset()
			if sum := mustSync(t, c, sink, endOpts(state, ender)); !sum.Full || !slices.Equal(ender.calls, []string{between}) {
				t.Errorf("after a run without EndSessions: full %v, ended %v; want a full run ending %s only", sum.Full, ender.calls, between)
			}
		})
	}
}

func TestSyncEndSessionsFailureThenResume(t *testing.T) {
	f := newFake(t)
	f.srv.AddGeneratedUsers(40, 0)
	cfg := f.config()
	cfg.PageSize = 5
	c := f.client(t, cfg)
	state := tempState(t)
	sink := newMemSink()
	ender := newFakeEnder(t)
	mustSync(t, c, sink, endOpts(state, ender))

	// Six suspensions, two deprovisionings and two deletions. A full run
	// ends the suspended users' sessions page by page, then the
	// deprovisioned ones' (one page) and the deleted ones'; the store fails
	// at the eighth call, for the second deprovisioned user.
	f.clock.Add(time.Hour)
	var want []string
	for i := 1; i <= 40; i += 4 {
		login := fmt.Sprintf("user%d@generated.example", i)
		switch {
		case i <= 21:
			want = append(want, f.setStatus(login, "SUSPENDED"))
		case i <= 29:
			want = append(want, f.setStatus(login, "DEPROVISIONED"))
		default:
			u, _ := f.srv.LookupUser(login)
			f.srv.DeleteUser(u.ID)
			want = append(want, u.ID)
		}
	}
	f.clock.Add(time.Hour)
	ender.reset()
	ender.fail = func(n int, _ string) error {
		if n == 7 {
			return errStoreDown
		}
		return nil
	}
	opts := endOpts(state, ender)
	opts.Full = true
	_, err := Sync(context.Background(), c, sink, opts)
	if !errors.Is(err, errStoreDown) || !strings.Contains(err.Error(), "ending the sessions of") {
		t.Fatalf("Sync = %v; want the store's failure, wrapped", err)
	}
	before := slices.Clone(ender.calls)
	st, _ := state.Load(context.Background())
	if len(before) != 7 || st.Run == nil || st.Run.Phase != "deprovisioned" || !st.Run.EndSessions {
		t.Fatalf("after the failure: %d calls, checkpoint %+v; want 7 and a checkpoint in the deprovisioned phase", len(before), st.Run)
	}

	ender.fail = nil
	sum := mustSync(t, c, sink, endOpts(state, ender))
	if !sum.Resumed {
		t.Errorf("the run after the failure did not resume")
	}
	slices.Sort(want)
	if got := ender.sorted(); !slices.Equal(got, want) {
		t.Errorf("sessions ended over both runs: %v; want %v", got, want)
	}
	// The resumed run ends the sessions the failed one missed, and again
	// only those of the page it failed in: the first deprovisioned user's.
	resumed := slices.Sorted(slices.Values(ender.calls[len(before):]))
	var wantResumed []string
	for _, id := range want {
		if !slices.Contains(before, id) || id == before[6] {
			wantResumed = append(wantResumed, id)
		}
	}
	if !slices.Equal(resumed, wantResumed) {
		t.Errorf("the resumed run ended %v; want %v", resumed, wantResumed)
	}

	// Idempotent: a run with nothing new ends nothing.
	f.clock.Add(time.Hour)
	ender.reset()
	if mustSync(t, c, sink, endOpts(state, ender)); len(ender.calls) != 0 {
		t.Errorf("a run without changes ended %v", ender.calls)
	}
}

func TestSyncEndSessionsLimit(t *testing.T) {
	// Deletions withheld by the safety limit end no session; the next
	// allowed run ends them.
	f := newFake(t)
	f.srv.AddGeneratedUsers(40, 0)
	c := f.client(t, f.config())
	state := tempState(t)
	sink := newMemSink()
	ender := newFakeEnder(t)
	mustSync(t, c, sink, endOpts(state, ender))
	var deleted []string
	for i := 1; i <= 3; i++ {
		u, _ := f.srv.LookupUser(fmt.Sprintf("user%d@generated.example", i))
		f.srv.DeleteUser(u.ID)
		deleted = append(deleted, u.ID)
	}
	slices.Sort(deleted)
	f.clock.Add(time.Hour)
	ender.reset()
	opts := endOpts(state, ender)
	opts.Full, opts.MaxDeactivate = true, 2
	if _, err := Sync(context.Background(), c, sink, opts); !errors.Is(err, ErrTooManyDeactivations) || len(ender.calls) != 0 {
		t.Fatalf("Sync over the limit = %v, ended %v; want ErrTooManyDeactivations and nothing ended", err, ender.calls)
	}
	f.clock.Add(time.Hour)
	opts.MaxDeactivate = 3
	if mustSync(t, c, sink, opts); !slices.Equal(ender.sorted(), deleted) {
		t.Errorf("allowed run ended %v; want %v", ender.sorted(), deleted)
	}
}

func TestSyncEndSessionsDryRun(t *testing.T) {
	f := newFake(t)
	sus, gone := f.populate(2, 10)
	c := f.client(t, f.config())
	ender := newFakeEnder(t)
	var plan []string
	opts := endOpts(tempState(t), ender)
	opts.DryRun = true
	opts.OnChange = func(ch Change) {
		if ch.Op == "end_sessions" {
			plan = append(plan, ch.ID+" "+string(ch.Reason))
		}
	}
	sum := mustSync(t, c, newMemSink(), opts)
	want := []string{sus.ID + " suspended", gone.ID + " deprovisioned"}
	if len(ender.calls) != 0 || !slices.Equal(plan, want) || sum.SessionsEnded != 2 {
		t.Errorf("dry run: called %v, planned %v (summary %d); want nothing called and %v planned", ender.calls, plan, sum.SessionsEnded, want)
	}
}

func TestSyncEndSessionsNeedsIssuer(t *testing.T) {
	f := newFake(t)
	c := f.client(t, f.config())
	_, err := Sync(context.Background(), c, newMemSink(), SyncOptions{EndSessions: newFakeEnder(t)})
	if err == nil || !strings.Contains(err.Error(), "SessionIssuer") {
		t.Errorf("Sync without SessionIssuer = %v; want an error naming it", err)
	}
}

// TestAuthIsASessionEnder checks that *oktasso.Auth plugs in as
// SyncOptions.EndSessions once it has its EndSessions method; without the
// method it skips.
func TestAuthIsASessionEnder(t *testing.T) {
	m, ok := reflect.TypeFor[*oktasso.Auth]().MethodByName("EndSessions")
	if !ok {
		t.Skip("oktasso.Auth has no EndSessions method yet")
	}
	if _, ok := any((*oktasso.Auth)(nil)).(SessionEnder); !ok {
		t.Errorf("(*oktasso.Auth).EndSessions is %v; want func(context.Context, string, string) error, so that it is a directory.SessionEnder", m.Type)
	}
}
