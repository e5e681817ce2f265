package main

import (
	"fmt"
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
				if err := s.Login(t.Context(), &u); err != nil {
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
		if err := s.Login(t.Context(), &u); err == nil {
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
				if err := s.Login(t.Context(), &u); err != nil {
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
