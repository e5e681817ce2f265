package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/oktasso/oktasso"
)

// account is the application's own record of a person, created the first
// time they sign in with Okta.
type account struct {
	ID        string
	Issuer    string // with Subject, the link to the Okta identity
	Subject   string
	Email     string // copied from Okta at each sign-in; not an identifier
	Name      string
	Created   time.Time
	LastLogin time.Time
	Logins    int

	seq int // creation order
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
// This one is in memory and ends with the process. It is safe for
// concurrent use.
type accountStore struct {
	now func() time.Time

	mu         sync.Mutex
	byIdentity map[identity]*account
	seq        int
}

func newAccountStore(now func() time.Time) *accountStore {
	if now == nil {
		now = time.Now
	}
	return &accountStore{now: now, byIdentity: make(map[identity]*account)}
}

// Login is the oktasso.Config.OnLogin hook. It runs after Okta's answer
// has been verified and before the session is issued: it creates the
// account on first sign-in, refreshes the name and email on later ones,
// and sets u.LocalID so handlers find the account from the session. An
// error here refuses the sign-in.
func (s *accountStore) Login(ctx context.Context, u *oktasso.User) error {
	if u.Issuer == "" || u.Subject == "" {
		return errors.New("workspace: sign-in without issuer or subject")
	}
	key := identity{u.Issuer, u.Subject}
	now := s.now()

	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.byIdentity[key]
	if a == nil {
		s.seq++
		a = &account{ID: fmt.Sprintf("acct-%04d", s.seq), seq: s.seq, Issuer: u.Issuer, Subject: u.Subject, Created: now}
		s.byIdentity[key] = a
	}
	a.Email, a.Name = u.Email, u.Name
	a.LastLogin = now
	a.Logins++
	u.LocalID = a.ID
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
	out := make([]account, 0, len(s.byIdentity))
	for _, a := range s.byIdentity {
		out = append(out, *a)
	}
	s.mu.Unlock()
	slices.SortFunc(out, func(a, b account) int { return a.seq - b.seq })
	return out
}
