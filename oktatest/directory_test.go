package oktatest

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestGroups(t *testing.T) {
	clock := newTestClock()
	s := NewUnstartedServer()
	s.Now = clock.Now
	defer s.Close()
	everyone, ok := s.LookupGroup("Everyone")
	if !ok || everyone.Type != "BUILT_IN" || !strings.HasPrefix(everyone.ID, "00g") || len(everyone.ID) != 20 {
		t.Fatalf("LookupGroup(Everyone) = %+v, %v; want a BUILT_IN group", everyone, ok)
	}
	eng := s.AddGroup(Group{Name: "Engineering"})
	if eng.Type != "OKTA_GROUP" || !eng.Created.Equal(clock.Now()) || !eng.LastMembershipUpdated.Equal(clock.Now()) {
		t.Errorf("AddGroup() = %+v; want OKTA_GROUP created now", eng)
	}
	u := s.AddUser(User{Login: "carol@example.com", Groups: []string{"Engineering", "New Group", "Everyone", "Engineering"}})
	if want := []string{"Engineering", "New Group"}; !slices.Equal(u.Groups, want) {
		t.Errorf("AddUser().Groups = %v; want %v", u.Groups, want)
	}
	if g, ok := s.LookupGroup("New Group"); !ok || g.Type != "OKTA_GROUP" {
		t.Errorf("group named by AddUser not created: %+v", g)
	}
	ad := s.AddGroup(Group{Name: "CN=AD", Type: "APP_GROUP"})
	clock.Add(time.Minute)
	s.AddMember(ad.ID, u.ID)
	s.AddMember(ad.ID, u.ID) // no-op
	got, _ := s.LookupUser(u.ID)
	if want := []string{"Engineering", "New Group", "CN=AD"}; !slices.Equal(got.Groups, want) {
		t.Errorf("Groups after AddMember = %v; want %v", got.Groups, want)
	}
	if g, _ := s.LookupGroup(ad.ID); !g.LastMembershipUpdated.Equal(clock.Now()) || !g.LastUpdated.Equal(ad.LastUpdated) {
		t.Errorf("after AddMember: group %+v; want LastMembershipUpdated moved, LastUpdated not", g)
	}
	s.mu.Lock()
	claims := scopeClaims(s.users[u.ID].User, 0, []string{"groups"})
	s.mu.Unlock()
	if want := []string{"Everyone", "Engineering", "New Group", "CN=AD"}; !slices.Equal(claims["groups"].([]string), want) {
		t.Errorf("groups claim = %v; want %v", claims["groups"], want)
	}
	s.RemoveMember(eng.ID, u.ID)
	s.DeleteGroup(ad.ID)
	got, _ = s.LookupUser("CAROL@example.com")
	if want := []string{"New Group"}; !slices.Equal(got.Groups, want) {
		t.Errorf("Groups after RemoveMember and DeleteGroup = %v; want %v", got.Groups, want)
	}
	if _, ok := s.LookupGroup("CN=AD"); ok {
		t.Error("deleted group still found")
	}
}

func TestUserLifecycle(t *testing.T) {
	clock := newTestClock()
	s := newAPIServer(t, clock)
	u := s.AddUser(User{Login: "dan@example.com", Groups: []string{"Staff"}})
	if !u.Created.Equal(clock.Now()) || !u.LastUpdated.Equal(clock.Now()) {
		t.Errorf("AddUser() = %+v; want Created and LastUpdated now", u)
	}
	clock.Add(time.Minute)
	s.SetUserStatus(u.ID, "LOCKED_OUT")
	got, _ := s.LookupUser(u.ID)
	if got.Status != "LOCKED_OUT" || !got.LastUpdated.Equal(clock.Now()) || !got.Created.Equal(u.Created) {
		t.Errorf("after SetUserStatus: %+v", got)
	}
	clock.Add(time.Minute)
	got = s.UpdateUser(User{ID: u.ID, Login: "daniel@example.com", FirstName: "Daniel", Groups: []string{"Managers"}})
	if got.Login != "daniel@example.com" || got.Email != "daniel@example.com" || got.Status != "LOCKED_OUT" ||
		!slices.Equal(got.Groups, []string{"Managers"}) || !got.LastUpdated.Equal(clock.Now()) {
		t.Errorf("UpdateUser() = %+v", got)
	}
	if _, ok := s.LookupUser("dan@example.com"); ok {
		t.Error("old login still found after UpdateUser")
	}
	staff, _ := s.LookupGroup("Staff")
	if ids, _ := listAll(t, s, "/api/v1/groups/"+staff.ID+"/users", ssws()); len(ids) != 0 {
		t.Errorf("Staff members after UpdateUser = %v; want none", ids)
	}
	clock.Add(time.Minute)
	managers, _ := s.LookupGroup("Managers")
	s.DeleteUser(u.ID)
	if _, ok := s.LookupUser(u.ID); ok {
		t.Error("deleted user still found")
	}
	if resp, _ := apiGet(t, s, "/api/v1/users/"+u.ID, ssws()); resp.StatusCode != 404 {
		t.Errorf("GET deleted user = %d; want 404", resp.StatusCode)
	}
	if g, _ := s.LookupGroup(managers.ID); !g.LastMembershipUpdated.Equal(clock.Now()) {
		t.Errorf("DeleteUser did not move LastMembershipUpdated of the user's group: %+v", g)
	}
	if ids, _ := listAll(t, s, "/api/v1/users?filter="+strings.ReplaceAll(`status eq "LOCKED_OUT"`, " ", "+"), ssws()); len(ids) != 0 {
		t.Errorf("deleted user still listed: %v", ids)
	}
}

func TestDirectoryPanics(t *testing.T) {
	s := NewUnstartedServer()
	defer s.Close()
	u := s.AddUser(User{Login: "u@example.com"})
	g := s.AddGroup(Group{Name: "G"})
	everyone, _ := s.LookupGroup("Everyone")
	tests := []struct {
		name string
		f    func()
	}{
		{"AddUser unknown status", func() { s.AddUser(User{Login: "x@example.com", Status: "LOCKED"}) }},
		{"AddUser duplicate id", func() { s.AddUser(User{Login: "y@example.com", ID: u.ID}) }},
		{"AddGroup empty name", func() { s.AddGroup(Group{}) }},
		{"AddGroup duplicate name", func() { s.AddGroup(Group{Name: "G"}) }},
		{"AddGroup Everyone", func() { s.AddGroup(Group{Name: "Everyone"}) }},
		{"AddGroup unknown type", func() { s.AddGroup(Group{Name: "H", Type: "SECURITY"}) }},
		{"AddMember unknown group", func() { s.AddMember("00gnope", u.ID) }},
		{"AddMember unknown user", func() { s.AddMember(g.ID, "00unope") }},
		{"RemoveMember Everyone", func() { s.RemoveMember(everyone.ID, u.ID) }},
		{"SetUserStatus unknown status", func() { s.SetUserStatus(u.ID, "GONE") }},
		{"SetUserStatus unknown user", func() { s.SetUserStatus("00unope", "ACTIVE") }},
		{"UpdateUser unknown user", func() { s.UpdateUser(User{ID: "00unope", Login: "z@example.com"}) }},
		{"UpdateUser taken login", func() {
			v := s.AddUser(User{Login: "v@example.com"})
			s.UpdateUser(User{ID: v.ID, Login: "U@example.com"})
		}},
		{"DeleteUser unknown", func() { s.DeleteUser("00unope") }},
		{"DeleteGroup Everyone", func() { s.DeleteGroup(everyone.ID) }},
		{"AddGeneratedUsers too many groups", func() { s.AddGeneratedUsers(1, 5) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("%s did not panic", tt.name)
				}
			}()
			tt.f()
		})
	}
}

// TestAddGeneratedUsers checks what 100,000 generated users and 5,000
// groups hold; BenchmarkAddGeneratedUsers measures how long they take.
func TestAddGeneratedUsers(t *testing.T) {
	s := newAPIServer(t, nil)
	s.AddGeneratedGroups(5000)
	s.AddGeneratedUsers(100_000, 3)
	s.mu.Lock()
	nUsers, nGroups, memberships := len(s.users), s.dir.groupIDs.len(), 0
	for _, g := range s.dir.groups {
		memberships += g.members.len()
	}
	s.mu.Unlock()
	if nUsers != 100_000 || nGroups != 5001 || memberships != 300_000 {
		t.Errorf("%d users, %d groups, %d memberships; want 100000, 5001, 300000", nUsers, nGroups, memberships)
	}
	u, ok := s.LookupUser("user100000@generated.example")
	if !ok || len(u.Groups) != 3 || u.Status != "ACTIVE" {
		t.Errorf("LookupUser(user100000) = %+v, %v", u, ok)
	}
	g, _ := s.LookupGroup(u.Groups[0])
	ids, _ := listAll(t, s, "/api/v1/groups/"+g.ID+"/users", ssws())
	if !slices.Contains(ids, u.ID) {
		t.Errorf("members of %s do not include %s", g.Name, u.ID)
	}
}

// BenchmarkAddGeneratedUsers generates 5,000 groups and 100,000 users in
// three of them each, in a new fake org.
func BenchmarkAddGeneratedUsers(b *testing.B) {
	for b.Loop() {
		s := NewServer()
		s.AddGeneratedGroups(5000)
		s.AddGeneratedUsers(100_000, 3)
		s.Close()
	}
}
