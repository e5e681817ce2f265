package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/oktasso/oktasso"
)

func TestAccountStoreLinksByIssuerAndSubject(t *testing.T) {
	t.Parallel()
	const iss, other = "https://dev-1.okta.com", "https://dev-2.okta.com"
	tests := []struct {
		name         string
		logins       []oktasso.User
		wantIDs      []string // LocalID set on each sign-in
		wantAccounts int
	}{
		{
			name: "same subject, changed email: one account, updated",
			logins: []oktasso.User{
				{Issuer: iss, Subject: "00u1", Email: "a@example.com", Name: "A"},
				{Issuer: iss, Subject: "00u1", Email: "a.new@example.com", Name: "A New"},
			},
			wantIDs: []string{"acct-0001", "acct-0001"}, wantAccounts: 1,
		},
		{
			name: "same email, different subjects: two accounts",
			logins: []oktasso.User{
				{Issuer: iss, Subject: "00u1", Email: "shared@example.com"},
				{Issuer: iss, Subject: "00u2", Email: "shared@example.com"},
			},
			wantIDs: []string{"acct-0001", "acct-0002"}, wantAccounts: 2,
		},
		{
			name: "same subject, different issuers: two accounts",
			logins: []oktasso.User{
				{Issuer: iss, Subject: "00u1"},
				{Issuer: other, Subject: "00u1"},
			},
			wantIDs: []string{"acct-0001", "acct-0002"}, wantAccounts: 2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newAccountStore(nil)
			for i, u := range tt.logins {
				if err := s.Login(t.Context(), &u, nil); err != nil {
					t.Fatalf("Login(%+v) = %v", u, err)
				}
				if u.LocalID != tt.wantIDs[i] {
					t.Errorf("Login #%d LocalID = %q; want %q", i+1, u.LocalID, tt.wantIDs[i])
				}
			}
			if got := len(s.List()); got != tt.wantAccounts {
				t.Errorf("List() has %d accounts; want %d", got, tt.wantAccounts)
			}
			last := tt.logins[len(tt.logins)-1]
			a, ok := s.Lookup(last.Issuer, last.Subject)
			if !ok || a.Email != last.Email || a.Name != last.Name {
				t.Errorf("Lookup(%q, %q) = %+v, %v; want the latest email and name", last.Issuer, last.Subject, a, ok)
			}
		})
	}
}

func TestAccountStoreRefusesMissingIdentity(t *testing.T) {
	t.Parallel()
	s := newAccountStore(nil)
	for _, u := range []oktasso.User{{Subject: "00u1"}, {Issuer: "https://dev-1.okta.com"}} {
		if err := s.Login(t.Context(), &u, nil); err == nil {
			t.Errorf("Login(%+v) = nil; want an error", u)
		}
	}
}

func TestAccountStoreConcurrentFirstLogins(t *testing.T) {
	t.Parallel()
	clock := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	s := newAccountStore(func() time.Time { return clock })
	const people, each = 8, 25
	var wg sync.WaitGroup
	for p := range people {
		for range each {
			wg.Go(func() {
				u := oktasso.User{Issuer: "https://dev-1.okta.com", Subject: fmt.Sprintf("00u%d", p)}
				if err := s.Login(t.Context(), &u, nil); err != nil {
					t.Error(err)
				}
				s.List()
			})
		}
	}
	wg.Wait()
	accounts := s.List()
	if len(accounts) != people {
		t.Fatalf("List() has %d accounts; want %d", len(accounts), people)
	}
	for i, a := range accounts {
		if want := fmt.Sprintf("acct-%04d", i+1); a.ID != want || a.Logins != each {
			t.Errorf("account %d = %s with %d sign-ins; want %s with %d", i, a.ID, a.Logins, want, each)
		}
	}
}

func TestAccountStorePersists(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "state", "accounts.json")
	s, err := openAccountStore(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []oktasso.User{
		{Issuer: "https://dev-1.okta.com", Subject: "00u1", Email: "a@example.com"},
		{Issuer: "https://dev-1.okta.com", Subject: "00u2", Email: "b@example.com"},
	} {
		if err := s.Login(t.Context(), &u, nil); err != nil {
			t.Fatal(err)
		}
	}
	// A restart: the accounts and their numbering come back from the file.
	s2, err := openAccountStore(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := s2.List(); len(got) != 2 || got[0].ID != "acct-0001" || got[1].Email != "b@example.com" {
		t.Fatalf("after reopening, List() = %+v; want the two accounts in order", got)
	}
	u := oktasso.User{Issuer: "https://dev-1.okta.com", Subject: "00u3"}
	if err := s2.Login(t.Context(), &u, nil); err != nil || u.LocalID != "acct-0003" {
		t.Fatalf("new account after reopening = %q, %v; want acct-0003", u.LocalID, err)
	}
	if a, _ := s2.Lookup("https://dev-1.okta.com", "00u1"); a.Logins != 1 {
		t.Fatalf("account 1 has %d logins; want 1", a.Logins)
	}
	if fi, err := os.Stat(path); err != nil || fi.Size() == 0 {
		t.Fatalf("accounts file: %v", err)
	}

	if err := os.WriteFile(path, []byte("not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := openAccountStore(path, nil); err == nil {
		t.Fatal("a corrupt accounts file opened without error")
	}
	twice := `[{"id":"acct-0001","iss":"https://dev-1.okta.com","sub":"00u1","seq":1},{"id":"acct-0002","iss":"https://dev-1.okta.com","sub":"00u1","seq":2}]`
	if err := os.WriteFile(path, []byte(twice), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := openAccountStore(path, nil); err == nil {
		t.Fatal("an accounts file listing one person twice opened without error")
	}
}

func TestAccountStoreSaveFailureRefusesLogin(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s, err := openAccountStore(filepath.Join(dir, "accounts.json"), nil)
	if err != nil {
		t.Fatal(err)
	}
	s.path = filepath.Join(dir, "missing-dir", "accounts.json")
	u := oktasso.User{Issuer: "https://dev-1.okta.com", Subject: "00u1"}
	if err := s.Login(t.Context(), &u, nil); err == nil {
		t.Fatal("Login succeeded though the accounts could not be saved")
	}
}

// TestAccountStoreSaveFailureChangesNothing: a sign-in whose accounts
// could not be saved leaves the store as it was, in memory and on disk,
// and the same sign-in retried later counts once.
func TestAccountStoreSaveFailureChangesNothing(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "accounts.json")
	clock := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	s, err := openAccountStore(path, func() time.Time { return clock })
	if err != nil {
		t.Fatal(err)
	}
	const iss = "https://dev-1.okta.com"
	alice := oktasso.User{Issuer: iss, Subject: "00u1", Email: "alice@example.com", Name: "Alice"}
	if err := s.Login(t.Context(), &alice, nil); err != nil {
		t.Fatal(err)
	}
	before, version := s.List(), s.Version()

	s.path = filepath.Join(dir, "missing-dir", "accounts.json") // every save fails
	clock = clock.Add(time.Hour)
	again := oktasso.User{Issuer: iss, Subject: "00u1", Email: "alice.new@example.com", Name: "Alice New"}
	bob := oktasso.User{Issuer: iss, Subject: "00u2", Email: "bob@example.com"}
	for _, u := range []*oktasso.User{&again, &bob} {
		if err := s.Login(t.Context(), u, nil); err == nil {
			t.Fatalf("Login(%s) succeeded though the accounts could not be saved", u.Subject)
		}
		if u.LocalID != "" {
			t.Errorf("a refused Login(%s) set LocalID %q", u.Subject, u.LocalID)
		}
	}
	if after := s.List(); fmt.Sprint(after) != fmt.Sprint(before) || s.Version() != version {
		t.Errorf("after failed saves the store holds %+v (version %d); want %+v (version %d)", after, s.Version(), before, version)
	}

	s.path = path // the disk is back: the retries count once each
	for _, u := range []*oktasso.User{&again, &bob} {
		if err := s.Login(t.Context(), u, nil); err != nil {
			t.Fatal(err)
		}
	}
	if again.LocalID != "acct-0001" || bob.LocalID != "acct-0002" {
		t.Errorf("retried sign-ins got %q and %q; want acct-0001 and acct-0002", again.LocalID, bob.LocalID)
	}
	a, _ := s.Lookup(iss, "00u1")
	if a.Logins != 2 || a.Email != "alice.new@example.com" || !a.LastLogin.Equal(clock) {
		t.Errorf("alice after a failed and a retried sign-in = %+v; want 2 sign-ins, the new email, the last time", a)
	}
	reopened, err := openAccountStore(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := fmt.Sprint(reopened.List()), fmt.Sprint(s.List()); got != want {
		t.Errorf("the file holds %s; want what the store holds, %s", got, want)
	}
}

// TestAccountStoreWritesOnlyOnChange: a repeat sign-in that changes only
// the count and time does not rewrite the file; a new account or a changed
// name or email does, and Flush saves the counts.
func TestAccountStoreWritesOnlyOnChange(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "accounts.json")
	s, err := openAccountStore(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	const iss = "https://dev-1.okta.com"
	steps := []struct {
		name      string
		user      oktasso.User
		wantSaves int
	}{
		{"first sign-in", oktasso.User{Issuer: iss, Subject: "00u1", Email: "a@example.com", Name: "A"}, 1},
		{"same again", oktasso.User{Issuer: iss, Subject: "00u1", Email: "a@example.com", Name: "A"}, 1},
		{"and again", oktasso.User{Issuer: iss, Subject: "00u1", Email: "a@example.com", Name: "A"}, 1},
		{"new email", oktasso.User{Issuer: iss, Subject: "00u1", Email: "a2@example.com", Name: "A"}, 2},
		{"new name", oktasso.User{Issuer: iss, Subject: "00u1", Email: "a2@example.com", Name: "A B"}, 3},
		{"same once more", oktasso.User{Issuer: iss, Subject: "00u1", Email: "a2@example.com", Name: "A B"}, 3},
		{"another person", oktasso.User{Issuer: iss, Subject: "00u2"}, 4},
		{"the first again", oktasso.User{Issuer: iss, Subject: "00u1", Email: "a2@example.com", Name: "A B"}, 4},
	}
	for _, st := range steps {
		u := st.user
		if err := s.Login(t.Context(), &u, nil); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if s.saves != st.wantSaves {
			t.Errorf("after %s the file was written %d times; want %d", st.name, s.saves, st.wantSaves)
		}
	}
	if err := s.Flush(); err != nil || s.saves != 5 {
		t.Fatalf("Flush() = %v after %d writes; want nil after 5", err, s.saves)
	}
	if err := s.Flush(); err != nil || s.saves != 5 {
		t.Errorf("a second Flush() = %v, %d writes; want no write", err, s.saves)
	}
	reopened, err := openAccountStore(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if a, _ := reopened.Lookup(iss, "00u1"); a.Logins != 7 || a.Name != "A B" {
		t.Errorf("after Flush the file holds %+v; want 7 sign-ins and the new name", a)
	}
}

// BenchmarkAccountStoreRepeatLogin is a returning person's sign-in with
// 1,000 accounts in the file: it writes nothing (it rewrote and fsynced
// the whole file, ~17 ms, before the file was written only on change).
func BenchmarkAccountStoreRepeatLogin(b *testing.B) {
	s := newAccountStore(nil) // filled in memory, then saved once
	const iss = "https://dev-1.okta.com"
	for i := range 1000 {
		u := oktasso.User{Issuer: iss, Subject: fmt.Sprintf("00u%04d", i), Email: "x@example.com"}
		if err := s.Login(b.Context(), &u, nil); err != nil {
			b.Fatal(err)
		}
	}
	s.path = filepath.Join(b.TempDir(), "accounts.json")
	s.mu.Lock()
	err := s.saveLocked(nil, nil)
	s.mu.Unlock()
	if err != nil {
		b.Fatal(err)
	}
	u := oktasso.User{Issuer: iss, Subject: "00u0000", Email: "x@example.com"}
	for b.Loop() {
		if err := s.Login(b.Context(), &u, nil); err != nil {
			b.Fatal(err)
		}
	}
	if s.saves != 1 {
		b.Errorf("repeat sign-ins wrote the file: %d writes; want only the first save", s.saves)
	}
}
