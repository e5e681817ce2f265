package oktatest

import (
	"slices"
	"strings"
	"testing"
)

func TestLoadDirectoryFile(t *testing.T) {
	s := newAPIServer(t, nil)
	if err := s.LoadDirectoryFile("testdata/directory.json"); err != nil {
		t.Fatalf("LoadDirectoryFile = %v", err)
	}
	tests := []struct {
		login, status string
		groups        []string
	}{
		{"carol@example.com", "ACTIVE", []string{"Engineering", "Workspace Members"}},
		{"dave@example.com", "ACTIVE", []string{"Workspace Members", "CN=Finance,OU=Groups,DC=corp,DC=example"}},
		{"erin@partner.example", "SUSPENDED", []string{"Partners"}},
		{"frank@example.com", "DEPROVISIONED", []string{"Engineering"}},
		{"grace@example.com", "STAGED", []string{"Onboarding"}},
	}
	for _, tt := range tests {
		u, ok := s.LookupUser(tt.login)
		if !ok || u.Status != tt.status || !slices.Equal(u.Groups, tt.groups) || u.Email == "" {
			t.Errorf("LookupUser(%s) = %+v, %v; want %s in %v", tt.login, u, ok, tt.status, tt.groups)
		}
	}
	if g, _ := s.LookupGroup("CN=Finance,OU=Groups,DC=corp,DC=example"); g.Type != "APP_GROUP" {
		t.Errorf("AD group type = %q; want APP_GROUP", g.Type)
	}
	if g, ok := s.LookupGroup("Onboarding"); !ok || g.Type != "OKTA_GROUP" {
		t.Errorf("group named only by a user = %+v, %v; want an OKTA_GROUP", g, ok)
	}
	ids, _ := listAll(t, s, "/api/v1/users", ssws())
	if len(ids) != 4 {
		t.Errorf("listed %d users; want 4 (DEPROVISIONED hidden)", len(ids))
	}
}

func TestLoadDirectoryErrors(t *testing.T) {
	tests := []struct {
		name, doc, want string
	}{
		{"not JSON", `{`, "unexpected EOF"},
		{"unknown field", `{"users":[{"login":"a@example.com","nickname":"a"}]}`, "nickname"},
		{"unknown status", `{"users":[{"login":"a@example.com","status":"LOCKED"}]}`, "users[0]: unknown status"},
		{"no login", `{"users":[{"email":"a@example.com"}]}`, "users[0]: empty Login"},
		{"duplicate login in file", `{"users":[{"login":"a@example.com"},{"login":"A@example.com"}]}`, "users[1]: duplicate"},
		{"login taken", `{"users":[{"login":"taken@example.com"}]}`, "users[0]: duplicate"},
		{"unknown group type", `{"groups":[{"name":"G","type":"SECURITY"}]}`, "groups[0]: unknown group type"},
		{"duplicate group in file", `{"groups":[{"name":"G"},{"name":"G"}]}`, "groups[1]: duplicate"},
		{"group taken", `{"groups":[{"name":"Everyone"}]}`, "groups[0]: duplicate"},
		{"errors reported together", `{"groups":[{"name":""}],"users":[{"login":""}]}`, "users[0]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewUnstartedServer()
			defer s.Close()
			s.AddUser(User{Login: "taken@example.com"})
			err := s.LoadDirectory(strings.NewReader(tt.doc))
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "oktatest: ") {
				t.Fatalf("LoadDirectory(%s) = %v; want an error containing %q", tt.doc, err, tt.want)
			}
			s.mu.Lock()
			defer s.mu.Unlock()
			if len(s.users) != 1 || s.dir.groupIDs.len() != 1 {
				t.Errorf("directory changed by a failed load: %d users, %d groups", len(s.users), s.dir.groupIDs.len())
			}
		})
	}
}
