package directory_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/oktasso/oktasso/directory"
	"github.com/oktasso/oktasso/oktatest"
)

// accounts is an app's sink: here it only counts.
type accounts struct{ users, deactivated, groups, lists int }

func (a *accounts) UpsertUser(context.Context, directory.User) error { a.users++; return nil }
func (a *accounts) DeactivateUser(_ context.Context, _ string, _ directory.Reason) error {
	a.deactivated++
	return nil
}
func (a *accounts) UpsertGroup(context.Context, directory.Group) error { a.groups++; return nil }
func (a *accounts) SetMembers(context.Context, string, []string) error { a.lists++; return nil }

// A first sync is a full run; after a user is deleted in Okta, a full
// run finds and deactivates them.
func ExampleSync() {
	okta := oktatest.NewServer()
	defer okta.Close()
	okta.AddAPIToken("00-api-token")
	okta.AddGeneratedGroups(2)
	okta.AddGeneratedUsers(450, 1)

	c, err := directory.New(directory.Config{OrgURL: okta.URL, APIToken: "00-api-token", HTTPClient: okta.Client()})
	if err != nil {
		log.Fatal(err)
	}
	dir, _ := os.MkdirTemp("", "sync")
	defer os.RemoveAll(dir)
	state := directory.FileState(filepath.Join(dir, "state.json"))

	app := &accounts{}
	sum, err := directory.Sync(context.Background(), c, app, directory.SyncOptions{State: state})
	fmt.Println(sum.Full, sum.Upserted, sum.Groups, sum.MemberLists, err)

	u, _ := okta.LookupUser("user7@generated.example")
	okta.DeleteUser(u.ID)
	sum, err = directory.Sync(context.Background(), c, app, directory.SyncOptions{State: state, Full: true})
	fmt.Println(sum.Deleted, app.deactivated, err)
	// Output:
	// true 450 3 2 <nil>
	// 1 1 <nil>
}

// At sign-in, a user with more groups than a groups claim can carry.
func ExampleClient_UserGroups() {
	okta := oktatest.NewServer()
	defer okta.Close()
	okta.AddAPIToken("00-api-token")
	alice := okta.AddUser(oktatest.User{Login: "alice@example.com", Groups: []string{"Engineering"}})

	c, err := directory.New(directory.Config{OrgURL: okta.URL, APIToken: "00-api-token", HTTPClient: okta.Client()})
	if err != nil {
		log.Fatal(err)
	}
	groups, err := c.UserGroups(context.Background(), alice.ID)
	fmt.Println(len(groups), err)
	// Output: 2 <nil>
}

// sessionLog stands in for the app's *oktasso.Auth, whose EndSessions
// method ends a user's sessions on every instance.
type sessionLog struct{ ended []string }

func (s *sessionLog) EndSessions(_ context.Context, issuer, subject string) error {
	s.ended = append(s.ended, subject)
	return nil
}

// A sync that ends the sessions of users suspended, deactivated or deleted
// in Okta. In an app, EndSessions is the *oktasso.Auth and SessionIssuer
// its Config's Issuer.
func ExampleSessionEnder() {
	okta := oktatest.NewServer()
	defer okta.Close()
	okta.AddAPIToken("00-api-token")
	alice := okta.AddUser(oktatest.User{Login: "alice@example.com"})
	okta.AddUser(oktatest.User{Login: "bob@example.com"})

	c, err := directory.New(directory.Config{OrgURL: okta.URL, APIToken: "00-api-token", HTTPClient: okta.Client()})
	if err != nil {
		log.Fatal(err)
	}
	dir, _ := os.MkdirTemp("", "sync")
	defer os.RemoveAll(dir)
	sessions := &sessionLog{}
	opts := directory.SyncOptions{
		State:         directory.FileState(filepath.Join(dir, "state.json")),
		EndSessions:   sessions,
		SessionIssuer: okta.URL,
	}
	sum, err := directory.Sync(context.Background(), c, &accounts{}, opts)
	fmt.Println(sum.SessionsEnded, err)

	okta.SetUserStatus(alice.ID, "SUSPENDED")
	sum, err = directory.Sync(context.Background(), c, &accounts{}, opts)
	fmt.Println(sum.SessionsEnded, sessions.ended[0] == alice.ID, err)
	// Output:
	// 0 <nil>
	// 1 true <nil>
}
