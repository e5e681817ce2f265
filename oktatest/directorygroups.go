package oktatest

import (
	"errors"
	"slices"
	"time"
)

// Group is a group of the fake org's directory.
type Group struct {
	// ID is the group id. When empty, AddGroup generates one shaped like
	// Okta's: "00g" and 17 random characters.
	ID string
	// Name is the group name, the value of the groups claim. Required and
	// unique.
	Name string
	// Description is the group's description.
	Description string
	// Type is "OKTA_GROUP" (the default), "APP_GROUP" (imported from an
	// app such as Active Directory) or "BUILT_IN" (like "Everyone").
	Type string
	// Created, LastUpdated and LastMembershipUpdated are set from the
	// server's clock; LastMembershipUpdated moves whenever a member is
	// added or removed.
	Created, LastUpdated, LastMembershipUpdated time.Time
}

// groupTypes are Okta's group types.
var groupTypes = []string{"OKTA_GROUP", "APP_GROUP", "BUILT_IN"}

// groupRec is a directory group.
type groupRec struct {
	Group
	members idIndex // user ids; unused for Everyone, whose members are all users
}

// AddGroup adds a group to the directory and returns it with ID, Type and
// the timestamps filled in. It panics if Name is empty or taken, if ID is
// taken, or if Type is not an Okta group type.
func (s *Server) AddGroup(g Group) Group {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, err := s.addGroupLocked(g, s.now())
	if err != nil {
		panic("oktatest: AddGroup: " + err.Error())
	}
	return g
}

// checkGroupLocked fills in g's defaults and reports why it cannot be
// added. s.mu must be held.
func (s *Server) checkGroupLocked(g *Group, now time.Time) error {
	if g.Name == "" {
		return errors.New("empty group Name")
	}
	if g.Type == "" {
		g.Type = "OKTA_GROUP"
	}
	if !slices.Contains(groupTypes, g.Type) {
		return errors.New("unknown group type " + g.Type)
	}
	if _, ok := s.dir.groupNames[g.Name]; ok {
		return errors.New("duplicate group " + g.Name)
	}
	if g.ID != "" && s.dir.groups[g.ID] != nil {
		return errors.New("duplicate group id " + g.ID)
	}
	if g.Created.IsZero() {
		g.Created = now
	}
	if g.LastUpdated.IsZero() {
		g.LastUpdated = g.Created
	}
	if g.LastMembershipUpdated.IsZero() {
		g.LastMembershipUpdated = g.Created
	}
	g.Created, g.LastUpdated, g.LastMembershipUpdated = stamp(g.Created), stamp(g.LastUpdated), stamp(g.LastMembershipUpdated)
	return nil
}

// addGroupLocked adds a group. s.mu must be held.
func (s *Server) addGroupLocked(g Group, now time.Time) (Group, error) {
	if err := s.checkGroupLocked(&g, now); err != nil {
		return Group{}, err
	}
	if g.ID == "" {
		g.ID = randomID("00g", 20)
	}
	s.dir.groups[g.ID] = &groupRec{Group: g}
	s.dir.groupNames[g.Name] = g.ID
	s.dir.groupIDs.add(g.ID)
	return g, nil
}

// groupByNameLocked returns the group called name, or nil. s.mu must be held.
func (s *Server) groupByNameLocked(name string) *groupRec {
	return s.dir.groups[s.dir.groupNames[name]]
}

// addMemberLocked puts the user in the group. s.mu must be held.
func (s *Server) addMemberLocked(g *groupRec, u *userRec, now time.Time) {
	if g == s.dir.everyone {
		return
	}
	if _, ok := u.groupIDs[g.ID]; ok {
		return
	}
	u.groupIDs[g.ID] = struct{}{}
	u.Groups = append(slices.Clip(u.Groups), g.Name) // copy on write
	g.members.add(u.ID)
	g.LastMembershipUpdated = stamp(now)
}

// removeMemberLocked takes the user out of the group. s.mu must be held.
func (s *Server) removeMemberLocked(g *groupRec, u *userRec, now time.Time) {
	if _, ok := u.groupIDs[g.ID]; !ok {
		return
	}
	delete(u.groupIDs, g.ID)
	u.Groups = slices.DeleteFunc(slices.Clone(u.Groups), func(n string) bool { return n == g.Name })
	g.members.remove(u.ID)
	g.LastMembershipUpdated = stamp(now)
}

// mustUserGroupLocked returns the user and group, panicking with op if
// either does not exist. s.mu must be held.
func (s *Server) mustUserGroupLocked(op, groupID, userID string) (*groupRec, *userRec) {
	g, u := s.dir.groups[groupID], s.users[userID]
	if g == nil {
		panic("oktatest: " + op + ": unknown group " + groupID)
	}
	if u == nil {
		panic("oktatest: " + op + ": unknown user " + userID)
	}
	return g, u
}

// AddMember adds the user to the group, moving the group's
// LastMembershipUpdated. Adding a member twice, or to Everyone, does
// nothing. It panics if the group or the user does not exist.
func (s *Server) AddMember(groupID, userID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, u := s.mustUserGroupLocked("AddMember", groupID, userID)
	s.addMemberLocked(g, u, s.now())
}

// RemoveMember removes the user from the group, moving the group's
// LastMembershipUpdated; removing a non-member does nothing. It panics if
// the group or the user does not exist, or if the group is Everyone.
func (s *Server) RemoveMember(groupID, userID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, u := s.mustUserGroupLocked("RemoveMember", groupID, userID)
	if g == s.dir.everyone {
		panic("oktatest: RemoveMember: every user is in Everyone")
	}
	s.removeMemberLocked(g, u, s.now())
}

// DeleteGroup deletes a group; its members stay in the directory. It panics
// if the group does not exist or is Everyone.
func (s *Server) DeleteGroup(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.dir.groups[id]
	if g == nil || g == s.dir.everyone {
		panic("oktatest: DeleteGroup: unknown or built-in group " + id)
	}
	now := s.now()
	for _, uid := range slices.Clone(g.members.ids()) {
		s.removeMemberLocked(g, s.users[uid], now)
	}
	delete(s.dir.groups, id)
	delete(s.dir.groupNames, g.Name)
	s.dir.groupIDs.remove(id)
}

// LookupGroup returns the group with the given id or name.
func (s *Server) LookupGroup(idOrName string) (Group, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.dir.groups[idOrName]
	if g == nil {
		g = s.groupByNameLocked(idOrName)
	}
	if g == nil {
		return Group{}, false
	}
	return g.Group, true
}
