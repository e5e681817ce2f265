package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"golang.org/x/oauth2"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/oktasso/oktasso"
)

// account is the application's own record of a person, created the first
// time they sign in with Okta.
type account struct {
	ID        string    `json:"id"`
	Issuer    string    `json:"iss"` // with Subject, the link to the Okta identity
	Subject   string    `json:"sub"`
	Email     string    `json:"email"` // copied from Okta at each sign-in; not an identifier
	Name      string    `json:"name"`
	Created   time.Time `json:"created"`
	LastLogin time.Time `json:"last_login"`
	Logins    int       `json:"logins"`
	Seq       int       `json:"seq"` // creation order
	// OktaStatus is the person's status in Okta as the directory sync
	// (dirsync.go) last saw it, when not ACTIVE: SUSPENDED,
	// DEPROVISIONED, DELETED, …; empty for an active one or before any
	// sync.
	OktaStatus string `json:"okta_status,omitempty"`
}

// identity is the key that links an account to Okta: the issuer and the
// subject ("00u…" for Okta) never change for a person, while their email
// can, and an email can be reused by someone else. Never key accounts by
// email.
type identity struct{ issuer, subject string }

// accountStore keeps the local accounts. It is where a real application
// would use its database: a users table with a unique index on
// (issuer, subject), and Login an upsert in one transaction, so two
// sign-ins racing for the same new person still create one account.
//
// This one keeps the accounts in memory and, when opened with a path
// (openAccountStore), in a JSON file rewritten atomically (a temporary
// file renamed over it, synced) when an account is created or its name or
// email changes, so accounts survive restarts. A sign-in that changes only
// the sign-in count and time writes nothing: those are saved with the next
// change and by Flush, at shutdown, so a busy app does not rewrite the
// whole file per sign-in. It is safe for concurrent use within one process.
type accountStore struct {
	now  func() time.Time
	path string // "" keeps accounts in memory only

	mu         sync.Mutex
	byIdentity map[identity]*account
	bySeq      []*account // the same accounts, oldest first (accounts are never deleted)
	seq        int
	dirty      bool          // sign-in counts and times not yet in the file
	saves      int           // how many times the file was written (for tests)
	version    atomic.Uint64 // bumped (under mu) by every change: pages showing accounts are keyed by it
}

// openAccountStore loads the accounts kept in the file at path (a missing
// file is an empty store) and keeps saving them there.
func openAccountStore(path string, now func() time.Time) (*accountStore, error) {
	s := newAccountStore(now)
	s.path = path
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return s, os.MkdirAll(filepath.Dir(path), 0o700)
	}
	if err != nil {
		return nil, fmt.Errorf("workspace: reading accounts: %w", err)
	}
	var list []*account
	if err := json.Unmarshal(data, &list); err != nil {
		return nil, fmt.Errorf("workspace: %s is not an accounts file: %w", path, err)
	}
	slices.SortFunc(list, func(a, b *account) int { return a.Seq - b.Seq })
	for _, a := range list {
		key := identity{a.Issuer, a.Subject}
		if s.byIdentity[key] != nil {
			return nil, fmt.Errorf("workspace: %s lists the account of %s at %s twice", path, a.Subject, a.Issuer)
		}
		s.byIdentity[key] = a
		s.bySeq = append(s.bySeq, a)
		s.seq = max(s.seq, a.Seq)
	}
	return s, nil
}

// saveLocked writes every account to the file, with next in place of old
// (old nil: next is a new account; both nil: the accounts as they are),
// without changing the store: Login changes it only once the file has
// them. s.mu must be held.
func (s *accountStore) saveLocked(old, next *account) error {
	if s.path == "" {
		return nil
	}
	list := make([]*account, 0, len(s.bySeq)+1)
	for _, a := range s.bySeq {
		if a == old {
			a = next
		}
		list = append(list, a)
	}
	if old == nil && next != nil {
		list = append(list, next)
	}
	data, err := json.MarshalIndent(list, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(s.path), ".accounts-*.json")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), s.path); err != nil {
		return err
	}
	s.saves++
	s.dirty = false
	return nil
}

// Flush writes the sign-in counts and times that sign-ins left in memory
// only (see accountStore); run calls it at shutdown.
func (s *accountStore) Flush() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.dirty {
		return nil
	}
	if err := s.saveLocked(nil, nil); err != nil {
		return fmt.Errorf("workspace: saving accounts: %w", err)
	}
	return nil
}

func newAccountStore(now func() time.Time) *accountStore {
	if now == nil {
		now = time.Now
	}
	return &accountStore{now: now, byIdentity: make(map[identity]*account)}
}

// Login is the oktasso.Config.Hooks.OnLogin hook. It runs after Okta's answer
// has been verified and before the session is issued: it creates the
// account on first sign-in, refreshes the name and email on later ones,
// and sets u.LocalID so handlers find the account from the session. An
// error here refuses the sign-in.
//
// The change is saved before the store takes it, as a transaction commits
// before its effects are seen: a sign-in refused because the accounts could
// not be saved leaves the store as it was, so a retry counts once.
func (s *accountStore) Login(ctx context.Context, u *oktasso.User, _ *oauth2.Token) error {
	if u.Issuer == "" || u.Subject == "" {
		return errors.New("workspace: sign-in without issuer or subject")
	}
	key := identity{u.Issuer, u.Subject}
	now := s.now()

	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.byIdentity[key]
	var next account
	if old != nil {
		next = *old
	} else {
		seq := s.seq + 1
		next = account{ID: fmt.Sprintf("acct-%04d", seq), Seq: seq, Issuer: u.Issuer, Subject: u.Subject, Created: now}
	}
	next.Email, next.Name = u.Email, u.Name
	next.LastLogin = now
	next.Logins++
	if old == nil || old.Email != next.Email || old.Name != next.Name {
		if err := s.saveLocked(old, &next); err != nil {
			// Refuse the sign-in rather than hand out a session whose
			// account was not recorded.
			return fmt.Errorf("workspace: saving accounts: %w", err)
		}
	} else if s.path != "" {
		s.dirty = true // only the count and time changed: saved later
	}
	if old != nil {
		*old = next
	} else {
		a := &next
		s.byIdentity[key] = a
		s.bySeq = append(s.bySeq, a)
		s.seq = a.Seq
	}
	s.version.Add(1)
	u.LocalID = next.ID
	return nil
}

// SetOktaStatus records the Okta status of the account linked to
// (issuer, subject), saving the file when it changes. An unknown person
// (who never signed in here) is skipped: accounts are created at sign-in.
func (s *accountStore) SetOktaStatus(issuer, subject, status string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.byIdentity[identity{issuer, subject}]
	if old == nil || old.OktaStatus == status {
		return nil
	}
	next := *old
	next.OktaStatus = status
	if err := s.saveLocked(old, &next); err != nil {
		return fmt.Errorf("workspace: saving accounts: %w", err)
	}
	*old = next
	s.version.Add(1)
	return nil
}

// Lookup returns a copy of the account linked to (issuer, subject).
func (s *accountStore) Lookup(issuer, subject string) (account, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.byIdentity[identity{issuer, subject}]
	if a == nil {
		return account{}, false
	}
	return *a, true
}

// List returns copies of every account, oldest first.
func (s *accountStore) List() []account {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]account, len(s.bySeq))
	for i, a := range s.bySeq {
		out[i] = *a
	}
	return out
}

// Recent returns copies of the n newest accounts, newest first, how many
// accounts there are, and the version they are of. It copies n accounts
// however many there are: a database would answer it from an index
// (ORDER BY seq DESC LIMIT n, and a count).
func (s *accountStore) Recent(n int) (newest []account, total int, version uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	total = len(s.bySeq)
	newest = make([]account, 0, min(n, total))
	for i := total - 1; i >= 0 && len(newest) < n; i-- {
		newest = append(newest, *s.bySeq[i])
	}
	return newest, total, s.version.Load()
}

// Version changes whenever any account does.
func (s *accountStore) Version() uint64 { return s.version.Load() }
