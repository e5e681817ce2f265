package oktatest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

// directoryFile is the JSON form read by LoadDirectory.
type directoryFile struct {
	Groups []fileGroup `json:"groups"`
	Users  []fileUser  `json:"users"`
}

// fileGroup is a group of a directoryFile.
type fileGroup struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	Type        string `json:"type"`
}

// fileUser is a user of a directoryFile.
type fileUser struct {
	ID        string   `json:"id"`
	Login     string   `json:"login"`
	Email     string   `json:"email"`
	FirstName string   `json:"firstName"`
	LastName  string   `json:"lastName"`
	Password  string   `json:"password"`
	Status    string   `json:"status"`
	Groups    []string `json:"groups"`
}

// LoadDirectory adds the groups and users of a JSON document to the
// directory, all or nothing:
//
//	{
//	  "groups": [
//	    {"name": "Engineering", "description": "Builds things", "type": "OKTA_GROUP"}
//	  ],
//	  "users": [
//	    {"login": "carol@example.com", "email": "carol@example.com",
//	     "firstName": "Carol", "lastName": "Example", "password": "carol-password",
//	     "status": "ACTIVE", "groups": ["Engineering"]}
//	  ]
//	}
//
// Only "name" of a group and "login" of a user are required; the defaults
// are those of [Server.AddGroup] and [Server.AddUser] ("id" may be given
// too). Groups are added first; a user's group that is neither in the
// directory nor in the file is created as an OKTA_GROUP. Unknown fields,
// duplicates (within the file or with the directory), unknown statuses and
// types are errors, reported together; the directory is then unchanged.
// oktatest/testdata/directory.json in the module is an example.
func (s *Server) LoadDirectory(r io.Reader) error {
	var f directoryFile
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return fmt.Errorf("oktatest: LoadDirectory: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	// Validate everything against the directory and the file itself.
	groups, gerrs := s.checkFileGroupsLocked(f.Groups, now)
	users, uerrs := s.checkFileUsersLocked(f.Users, now)
	if err := errors.Join(append(gerrs, uerrs...)...); err != nil {
		return err
	}
	for _, g := range groups {
		if _, err := s.addGroupLocked(g, now); err != nil {
			panic("oktatest: LoadDirectory: " + err.Error()) // unreachable: validated
		}
	}
	for _, u := range users {
		if _, err := s.addUserLocked(u, now); err != nil {
			panic("oktatest: LoadDirectory: " + err.Error()) // unreachable: validated
		}
	}
	return nil
}

// checkFileGroupsLocked validates the groups of a directory file against
// the directory and each other, and returns them with their defaults and
// an error for each bad one. s.mu must be held.
func (s *Server) checkFileGroupsLocked(fgs []fileGroup, now time.Time) ([]Group, []error) {
	var errs []error
	names, ids := map[string]bool{}, map[string]bool{}
	groups := make([]Group, len(fgs))
	for i, g := range fgs {
		groups[i] = Group{ID: g.ID, Name: g.Name, Description: g.Description, Type: g.Type}
		err := s.checkGroupLocked(&groups[i], now)
		if err == nil && (names[g.Name] || (g.ID != "" && ids[g.ID])) {
			err = errors.New("duplicate group " + g.Name)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("oktatest: LoadDirectory: groups[%d]: %w", i, err))
		}
		names[g.Name], ids[g.ID] = true, true
	}
	return groups, errs
}

// checkFileUsersLocked validates the users of a directory file against
// the directory and each other, and returns them with their defaults and
// an error for each bad one. s.mu must be held.
func (s *Server) checkFileUsersLocked(fus []fileUser, now time.Time) ([]User, []error) {
	var errs []error
	logins, ids := map[string]bool{}, map[string]bool{}
	users := make([]User, len(fus))
	for i, u := range fus {
		users[i] = User{ID: u.ID, Login: u.Login, Email: u.Email, FirstName: u.FirstName, LastName: u.LastName,
			Password: u.Password, Status: u.Status, Groups: u.Groups}
		err := s.checkUserLocked(&users[i], now)
		if err == nil && (logins[strings.ToLower(u.Login)] || (u.ID != "" && ids[u.ID])) {
			err = errors.New("duplicate user " + u.Login)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("oktatest: LoadDirectory: users[%d]: %w", i, err))
		}
		logins[strings.ToLower(u.Login)], ids[u.ID] = true, true
	}
	return users, errs
}

// LoadDirectoryFile is [Server.LoadDirectory] on the named file.
func (s *Server) LoadDirectoryFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("oktatest: LoadDirectoryFile: %w", err)
	}
	defer f.Close()
	return s.LoadDirectory(f)
}

// AddGeneratedGroups adds n OKTA_GROUP groups named "Generated Group 1",
// "Generated Group 2"… (numbering continues across calls) and returns them.
// It panics if a name is taken.
func (s *Server) AddGeneratedGroups(n int) []Group {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	out := make([]Group, 0, n)
	for range n {
		s.dir.genGroups++
		g, err := s.addGroupLocked(Group{Name: "Generated Group " + strconv.Itoa(s.dir.genGroups)}, now)
		if err != nil {
			panic("oktatest: AddGeneratedGroups: " + err.Error())
		}
		out = append(out, g)
	}
	return out
}

// AddGeneratedUsers adds n ACTIVE users cheaply, to test directory sync at
// scale (100,000 users take well under a second). User k (numbering
// continues across calls) has login and email "user{k}@generated.example",
// name "User{k} Generated" and password "password", and is a member of
// groupsPerUser groups spread evenly over the directory's groups other
// than BUILT_IN ones. It panics if n < 0, if groupsPerUser exceeds the
// number of such groups, or if a login is taken.
func (s *Server) AddGeneratedUsers(n int, groupsPerUser int) {
	if n < 0 || groupsPerUser < 0 {
		panic("oktatest: AddGeneratedUsers: negative count")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var pool []*groupRec
	if groupsPerUser > 0 {
		for _, id := range s.dir.groupIDs.ids() {
			if g := s.dir.groups[id]; g.Type != "BUILT_IN" {
				pool = append(pool, g)
			}
		}
		if groupsPerUser > len(pool) {
			panic("oktatest: AddGeneratedUsers: groupsPerUser exceeds the number of groups")
		}
	}
	now := s.now()
	created := stamp(now)
	for range n {
		s.dir.generated++
		k := s.dir.generated
		num := strconv.Itoa(k)
		login := "user" + num + "@generated.example"
		if _, ok := s.logins[login]; ok {
			panic("oktatest: AddGeneratedUsers: duplicate user " + login)
		}
		u := &userRec{
			User: User{
				ID: randomID("00u", 20), Login: login, Email: login,
				FirstName: "User" + num, LastName: "Generated", Password: "password",
				Status: "ACTIVE", Created: created, LastUpdated: created,
			},
			updated:  created.Unix(),
			groupIDs: make(map[string]struct{}, groupsPerUser),
		}
		s.users[u.ID] = u
		s.logins[login] = u.ID
		s.dir.userIDs.add(u.ID)
		// Spread memberships: user k takes groupsPerUser consecutive
		// groups from a pseudo-random start.
		for j := range groupsPerUser {
			s.addMemberLocked(pool[(k*7919+j)%len(pool)], u, now)
		}
	}
	s.dir.everyone.LastMembershipUpdated = created
}
