package directory

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/oktasso/oktasso/oktatest"
)

// errDiskFull is the failure logSink injects.
var errDiskFull = errors.New("no space left on device")

// logSink is an app's accounts kept as a log of the changes it received,
// each a JSON record (users without their profile). The call numbered
// failAt (1-based, every method counted, Flush included) fails. A
// buffered logSink, used through bufSink, keeps the changes in buf until
// Flush appends them to the log, like a file; a plain one logs each at
// once, like a database.
type logSink struct {
	log, buf []string
	buffered bool
	calls    int
	failAt   int
	failed   string // the method that failed
}

func (s *logSink) call(method string) error {
	s.calls++
	if s.calls == s.failAt {
		s.failed = method
		return errDiskFull
	}
	return nil
}

func (s *logSink) add(method string, ch Change) error {
	if err := s.call(method); err != nil {
		return err
	}
	b, err := json.Marshal(ch)
	if err != nil {
		return err
	}
	if s.buffered {
		s.buf = append(s.buf, string(b))
	} else {
		s.log = append(s.log, string(b))
	}
	return nil
}

func (s *logSink) UpsertUser(_ context.Context, u User) error {
	u.Profile = nil
	return s.add("UpsertUser", Change{Op: "upsert_user", User: &u})
}

func (s *logSink) DeactivateUser(_ context.Context, id string, r Reason) error {
	return s.add("DeactivateUser", Change{Op: "deactivate_user", ID: id, Reason: r})
}

func (s *logSink) UpsertGroup(_ context.Context, g Group) error {
	return s.add("UpsertGroup", Change{Op: "upsert_group", Group: &g})
}

func (s *logSink) SetMembers(_ context.Context, id string, users []string) error {
	if users == nil {
		users = []string{}
	}
	return s.add("SetMembers", Change{Op: "set_members", ID: id, Members: users})
}

func (s *logSink) DeleteGroup(_ context.Context, id string) error {
	return s.add("DeleteGroup", Change{Op: "delete_group", ID: id})
}

// EndSessions makes the logSink the sync's SessionEnder too: the ends are
// written like its changes, as "oktasso sync --end-sessions" writes them
// to --out.
func (s *logSink) EndSessions(_ context.Context, issuer, subject string) error {
	return s.add("EndSessions", Change{Op: "end_sessions", ID: subject, Issuer: issuer})
}

// bufSink is a buffered logSink: a Flusher whose mark is the length of
// the log. A failed Flush is a short write: half the buffer reaches the
// log.
type bufSink struct{ *logSink }

func (s bufSink) Flush(context.Context) (string, error) {
	if err := s.call("Flush"); err != nil {
		s.log = append(s.log, s.buf[:len(s.buf)/2]...)
		s.buf = nil
		return "", err
	}
	s.log = append(s.log, s.buf...)
	s.buf = nil
	return strconv.Itoa(len(s.log)), nil
}

// sink returns s as the Sync sees it: a Flusher when buffered.
func (s *logSink) sink() Sink {
	if s.buffered {
		return bufSink{s}
	}
	return s
}

// rewind drops what the sink wrote after the mark of the state, as a sink
// appending to a file does before a run.
func (s *logSink) rewind(t *testing.T, state StateStore) {
	t.Helper()
	s.buf = nil
	st, err := state.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !s.buffered || st.SinkMark == "" {
		return
	}
	n, err := strconv.Atoi(st.SinkMark)
	if err != nil || n > len(s.log) {
		t.Fatalf("the state's sink mark %q is not a length of the log (%d records)", st.SinkMark, len(s.log))
	}
	s.log = s.log[:n]
}

// accounts replays a log into the app's accounts: one value per user,
// deactivation, group and member list.
func accounts(log []string) map[string]string {
	m := map[string]string{}
	for _, rec := range log {
		var ch Change
		if err := json.Unmarshal([]byte(rec), &ch); err != nil {
			panic(err)
		}
		switch ch.Op {
		case "upsert_user":
			m["user "+ch.User.ID] = rec
			delete(m, "deactivated "+ch.User.ID)
		case "deactivate_user":
			m["deactivated "+ch.ID] = string(ch.Reason)
		case "upsert_group":
			m["group "+ch.Group.ID] = rec
		case "set_members":
			m["members "+ch.ID] = rec
		case "delete_group":
			delete(m, "group "+ch.ID)
			delete(m, "members "+ch.ID)
		case "end_sessions":
			m["ended "+ch.ID] = ch.Issuer
		}
	}
	return m
}

// jsonStore is a FileState in memory, without the fsyncs: the state as
// JSON.
type jsonStore struct{ b *[]byte }

func (s jsonStore) Load(context.Context) (State, error) {
	var st State
	err := json.Unmarshal(*s.b, &st)
	return st, err
}

func (s jsonStore) Save(_ context.Context, st State) error {
	b, err := json.Marshal(st)
	*s.b = b
	return err
}

// fullStore is a StateStore on a disk that fills up when the sink fails:
// from then on every Save fails too.
type fullStore struct {
	jsonStore
	sink *logSink
}

func (s fullStore) Save(ctx context.Context, st State) error {
	if s.sink.failed != "" {
		return errDiskFull
	}
	return s.jsonStore.Save(ctx, st)
}

// TestSyncLosesNothing fails the sink at every call of a run in turn — the
// first page, the middle ones, the member lists, the deactivations, the
// group deletions, the ends of sessions (the sink is the SessionEnder too)
// and the final flush — then resumes with a sink that
// works and compares the result with the run that never failed: record
// for record for a plain sink, the very same log for a buffered one
// (a Flusher), whose writes after the saved mark are cut before each run.
// With the disk full, the state cannot be saved either.
func TestSyncLosesNothing(t *testing.T) {
	f := newFake(t)
	f.srv.AddGeneratedGroups(3)
	f.srv.AddGeneratedUsers(12, 1)
	cfg := f.config()
	cfg.PageSize = 4
	c := f.client(t, cfg)
	dir := t.TempDir()

	// The first run of each kind of sink, before Okta changes.
	type base struct {
		log   []string
		state []byte
	}
	bases := map[bool]base{}
	for _, buffered := range []bool{false, true} {
		path := FileState(filepath.Join(dir, fmt.Sprintf("first-%v.json", buffered)))
		s := &logSink{buffered: buffered}
		mustSync(t, c, s.sink(), SyncOptions{State: path, EndSessions: s, SessionIssuer: testIssuer})
		if n := len(accounts(s.log)); n < 12+4 {
			t.Fatalf("first run (buffered %v) logged %d accounts; want the 12 users and 4 groups", buffered, n)
		}
		b, err := os.ReadFile(string(path))
		if err != nil {
			t.Fatal(err)
		}
		bases[buffered] = base{s.log, b}
	}

	// Then users are deleted, deprovisioned and renamed, a group is
	// deleted and one appears that is new to the app though its
	// membership last changed long ago.
	long := f.clock.Now().Add(-30 * 24 * time.Hour)
	f.clock.Add(time.Hour)
	var deleted []string
	for _, i := range []int{2, 3} {
		u, _ := f.srv.LookupUser(fmt.Sprintf("user%d@generated.example", i))
		f.srv.DeleteUser(u.ID)
		deleted = append(deleted, u.ID)
	}
	u4, _ := f.srv.LookupUser("user4@generated.example")
	f.srv.SetUserStatus(u4.ID, "DEPROVISIONED")
	u5, _ := f.srv.LookupUser("user5@generated.example")
	u5.FirstName = "Renamed"
	f.srv.UpdateUser(u5)
	g2, _ := f.srv.LookupGroup("Generated Group 2")
	f.srv.DeleteGroup(g2.ID)
	f.srv.AddGroup(oktatest.Group{Name: "Imported", Created: long, LastUpdated: f.clock.Now(), LastMembershipUpdated: long})
	f.clock.Add(time.Hour)

	for _, buffered := range []bool{false, true} {
		for _, full := range []bool{false, true} {
			for _, diskFull := range []bool{false, true} {
				t.Run(fmt.Sprintf("buffered %v, full %v, disk full %v", buffered, full, diskFull), func(t *testing.T) {
					opts := SyncOptions{Full: full, SessionIssuer: testIssuer}
					// start returns a sink and a state as after the first run.
					start := func(failAt int) (*logSink, StateStore) {
						b := slices.Clone(bases[buffered].state)
						s := &logSink{log: slices.Clone(bases[buffered].log), buffered: buffered, failAt: failAt}
						if diskFull {
							return s, fullStore{jsonStore{&b}, s}
						}
						return s, jsonStore{&b}
					}

					clean, state := start(0)
					opts.State, opts.EndSessions = state, clean
					sum := mustSync(t, c, clean.sink(), opts)
					if sum.Full != full || sum.Upserted == 0 || sum.Deactivated == 0 || len(clean.log) == len(bases[buffered].log) {
						t.Fatalf("clean run: %+v, %d records after the first run's %d; want changes written", sum, len(clean.log), len(bases[buffered].log))
					}
					if len(clean.buf) != 0 {
						t.Fatalf("the clean run ended with %d changes not flushed: %v", len(clean.buf), clean.buf)
					}
					acc := accounts(clean.log)
					if acc["deactivated "+u4.ID] != string(ReasonDeprovisioned) || full && acc["deactivated "+deleted[0]] != string(ReasonDeleted) {
						t.Fatalf("the clean run's log misses deactivations: %v", acc)
					}
					if acc["ended "+u4.ID] != testIssuer || full && acc["ended "+deleted[0]] != testIssuer {
						t.Fatalf("the clean run's log misses ended sessions: %v", acc)
					}
					calls := clean.calls

					failed := map[string]int{}
					for k := 1; k <= calls; k++ {
						s, state := start(k)
						opts.State, opts.EndSessions = state, s
						_, err := Sync(context.Background(), c, s.sink(), opts)
						if !errors.Is(err, errDiskFull) {
							t.Fatalf("call %d of %d failing: Sync = %v; want the sink's failure", k, calls, err)
						}
						failed[s.failed]++

						s.rewind(t, state)
						s.failAt = 0
						if diskFull {
							state = state.(fullStore).jsonStore // space was freed
						}
						opts.State = state
						if _, err := Sync(context.Background(), c, s.sink(), opts); err != nil {
							t.Fatalf("call %d (%s) failed, then the resumed run: %v", k, s.failed, err)
						}
						if buffered {
							if !slices.Equal(s.log, clean.log) {
								i := 0
								for i < min(len(s.log), len(clean.log)) && s.log[i] == clean.log[i] {
									i++
								}
								t.Errorf("call %d (%s) failed: after resuming, the log has %d records, the clean run's %d; they differ from record %d on", k, s.failed, len(s.log), len(clean.log), i)
							}
							continue
						}
						if got, want := accounts(s.log), accounts(clean.log); !maps.Equal(got, want) {
							for key, v := range want {
								if got[key] != v {
									t.Errorf("call %d (%s) failed: after resuming, %s is %q; want %q", k, s.failed, key, got[key], v)
								}
							}
							for key := range got {
								if _, ok := want[key]; !ok {
									t.Errorf("call %d (%s) failed: after resuming, %s exists; want it gone", k, s.failed, key)
								}
							}
						}
					}
					want := []string{"UpsertUser", "UpsertGroup", "SetMembers", "DeactivateUser", "DeleteGroup", "EndSessions"}
					if buffered {
						want = append(want, "Flush")
					}
					for _, m := range want {
						if failed[m] == 0 && (full || m != "DeleteGroup") {
							t.Errorf("no %s failed; the failures covered %v", m, failed)
						}
					}
				})
			}
		}
	}
}
