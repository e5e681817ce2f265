package directory

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// stateVersion is the format version of State.
const stateVersion = 1

// State is what a sync remembers between runs: where the next incremental
// run starts, when the last full reconciliation ran, the ids the app has
// from Okta (to find hard-deleted ones) and, after a failed or interrupted
// run, where to resume. It is plain JSON (see [FileState]) and a plain
// value, used by one Sync at a time.
type State struct {
	Version int `json:"version"`
	// Watermark is when the last completed run started; the next
	// incremental run reads objects changed since then (minus a few
	// minutes of overlap for clock skew and Okta's search index).
	Watermark time.Time `json:"watermark"`
	// LastFull is when the last completed full run started; zero forces
	// a full run.
	LastFull time.Time `json:"last_full"`
	// SessionsWatermark is when the last completed run that ended
	// sessions (SyncOptions.EndSessions) started: users whose status
	// changed before it (minus the overlap) had theirs ended. Zero, or
	// older than Watermark because runs without EndSessions came since,
	// makes the next run with EndSessions a full one that ends the
	// sessions of every SUSPENDED or DEPROVISIONED user changed since it
	// (of all of them when zero).
	SessionsWatermark time.Time `json:"sessions_watermark,omitzero"`
	// Users and Groups are the sorted ids of the active users and the
	// groups the app was given.
	Users  []string `json:"users"`
	Groups []string `json:"groups"`
	// Run is the checkpoint of an unfinished run, resumed by the next one.
	Run *Checkpoint `json:"run,omitempty"`
	// SinkMark is what the sink's last Flush returned before this state
	// was saved (see [Flusher]): how far its output is counted done.
	SinkMark string `json:"sink_mark,omitempty"`
}

// Checkpoint is the progress of an unfinished run, part of State.
type Checkpoint struct {
	Started time.Time `json:"started"`
	Full    bool      `json:"full"`
	// Phase is "users", "deprovisioned" (full runs) or "groups"; Next is
	// the URL of the phase's next page to read ("" for its first), as
	// Okta's Link header gave it.
	Phase string `json:"phase"`
	Next  string `json:"next"`
	// SeenUsers and SeenGroups are the ids read so far by a full run.
	SeenUsers  []string `json:"seen_users,omitempty"`
	SeenGroups []string `json:"seen_groups,omitempty"`
	// Pending are the deactivations found so far, applied at the end.
	Pending []Deactivation `json:"pending,omitempty"`
	// EndSessions is whether the run ended sessions from its start
	// (SyncOptions.EndSessions); only then does it move
	// State.SessionsWatermark.
	EndSessions bool `json:"end_sessions,omitempty"`
	// Summary counts the work done so far.
	Summary Summary `json:"summary"`
}

// Deactivation is a user to deactivate, with why.
type Deactivation struct {
	ID     string `json:"id"`
	Reason Reason `json:"reason"`
}

// StateStore keeps a sync's State between runs. Load returns the zero
// State when nothing was saved. Save must replace the stored state
// atomically: a crash during Save leaves the previous state. Sync calls
// it from the goroutine that called Sync.
type StateStore interface {
	Load(ctx context.Context) (State, error)
	Save(ctx context.Context, s State) error
}

// FileState is a StateStore in a JSON file, written atomically (a
// temporary file in the same directory, synced, then renamed). It is not
// safe for concurrent use by several processes: run one sync at a time.
type FileState string

// Load reads the file; a missing file is the zero State.
func (f FileState) Load(context.Context) (State, error) {
	b, err := os.ReadFile(string(f))
	if errors.Is(err, fs.ErrNotExist) {
		return State{}, nil
	}
	if err != nil {
		return State{}, fmt.Errorf("directory: reading the state: %w", err)
	}
	var s State
	if err := json.Unmarshal(b, &s); err != nil {
		return State{}, fmt.Errorf("directory: the state file %s is not valid JSON (delete it to start over with a full run): %w", f, err)
	}
	if s.Version != stateVersion {
		return State{}, fmt.Errorf("directory: the state file %s has version %d; this version reads %d (delete it to start over with a full run)", f, s.Version, stateVersion)
	}
	return s, nil
}

// Save writes s to the file atomically, mode 0600.
func (f FileState) Save(_ context.Context, s State) error {
	s.Version = stateVersion
	b, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("directory: encoding the state: %w", err)
	}
	path := string(f)
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("directory: writing the state: %w", err)
	}
	defer os.Remove(tmp.Name()) // fails harmlessly after the rename
	_, err = tmp.Write(b)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("directory: writing the state: %w", err)
	}
	return nil
}

// memoryState is the StateStore of a sync without one: nothing survives
// the run, so every run is full.
type memoryState struct{ s State }

func (m *memoryState) Load(context.Context) (State, error) { return m.s, nil }
func (m *memoryState) Save(_ context.Context, s State) error {
	m.s = s
	return nil
}

// idSet is the set of ids the app has from Okta, each marked with whether
// the current full run has read it (one map for both, to halve memory).
type idSet map[string]bool

// newIDSet returns the set of ids, those in seen marked.
func newIDSet(ids, seen []string) idSet {
	s := make(idSet, len(ids))
	for _, id := range ids {
		s[id] = false
	}
	for _, id := range seen {
		s[id] = true
	}
	return s
}

func (s idSet) has(id string) bool { _, ok := s[id]; return ok }

// sorted returns the ids (only the seen ones if seen), in order, for a
// stable state file.
func (s idSet) sorted(seen bool) []string {
	out := make([]string, 0, len(s))
	for id, v := range s {
		if v || !seen {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}
