package oktatest

import (
	"net/http"
	"strings"
)

// apiGroup is a group as the Management API renders it.
type apiGroup struct {
	ID                    string          `json:"id"`
	Created               string          `json:"created"`
	LastUpdated           string          `json:"lastUpdated"`
	LastMembershipUpdated string          `json:"lastMembershipUpdated"`
	ObjectClass           []string        `json:"objectClass"`
	Type                  string          `json:"type"`
	Profile               apiGroupProfile `json:"profile"`
	Links                 apiGroupLinks   `json:"_links"`
}

type apiGroupLinks struct {
	Users apiHref `json:"users"`
	Apps  apiHref `json:"apps"`
}

type apiGroupProfile struct {
	Name        string `json:"name"`
	Description string `json:"description"`
}

// renderGroup returns the API form of g.
func renderGroup(g *groupRec, base string) apiGroup {
	class := "okta:user_group"
	if g.Type == "APP_GROUP" {
		class = "okta:windows_security_principal"
	}
	return apiGroup{
		ID:                    g.ID,
		Created:               oktaTime(g.Created),
		LastUpdated:           oktaTime(g.LastUpdated),
		LastMembershipUpdated: oktaTime(g.LastMembershipUpdated),
		ObjectClass:           []string{class},
		Type:                  g.Type,
		Profile:               apiGroupProfile{Name: g.Name, Description: g.Description},
		Links: apiGroupLinks{
			Users: apiHref{Href: base + "/api/v1/groups/" + g.ID + "/users"},
			Apps:  apiHref{Href: base + "/api/v1/groups/" + g.ID + "/apps"},
		},
	}
}

// groupAttr returns the filter attribute getter of g.
func groupAttr(g *groupRec) func(string) any {
	return func(name string) any {
		switch name {
		case "id":
			return g.ID
		case "type":
			return g.Type
		case "created":
			return g.Created
		case "lastUpdated":
			return g.LastUpdated
		case "lastMembershipUpdated":
			return g.LastMembershipUpdated
		case "profile.name":
			return g.Name
		case "profile.description":
			return g.Description
		}
		return nil
	}
}

// handleListGroups serves GET /api/v1/groups: limit (default and maximum
// 200), after, filter, search and q (a name prefix).
func (s *Server) handleListGroups(w http.ResponseWriter, r *http.Request) {
	p, e := s.parseList(r, 200, 200)
	if e != nil {
		e.write(w)
		return
	}
	q := r.URL.Query()
	pred, _, e := apiFilter(q, groupAttrs)
	if e != nil {
		e.write(w)
		return
	}
	prefix := strings.ToLower(q.Get("q"))
	s.mu.Lock()
	var keep func(string) bool
	if pred != nil || prefix != "" {
		keep = func(id string) bool {
			g := s.dir.groups[id]
			return strings.HasPrefix(strings.ToLower(g.Name), prefix) && (pred == nil || pred(groupAttr(g)))
		}
	}
	ids, more := pageIDs(s.dir.groupIDs.ids(), p.after, p.limit, keep)
	out := make([]apiGroup, len(ids))
	for i, id := range ids {
		out[i] = renderGroup(s.dir.groups[id], s.URL)
	}
	s.mu.Unlock()
	s.writeList(w, r, p.limit, ids, more, out)
}

// handleGetGroup serves GET /api/v1/groups/{id}.
func (s *Server) handleGetGroup(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	s.mu.Lock()
	g := s.dir.groups[id]
	var out apiGroup
	if g != nil {
		out = renderGroup(g, s.URL)
	}
	s.mu.Unlock()
	if g == nil {
		notFound(id, "UserGroup").write(w)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// handleGroupUsers serves GET /api/v1/groups/{id}/users: the members, of
// every status, with limit (default and maximum 1000) and after.
func (s *Server) handleGroupUsers(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	p, e := s.parseList(r, 1000, 1000)
	if e != nil {
		e.write(w)
		return
	}
	s.mu.Lock()
	g := s.dir.groups[id]
	var ids []string
	var more bool
	var out []apiUser
	if g != nil {
		members := &g.members
		if g == s.dir.everyone {
			members = &s.dir.userIDs
		}
		ids, more = pageIDs(members.ids(), p.after, p.limit, nil)
		out = s.renderUsersLocked(ids)
	}
	s.mu.Unlock()
	if g == nil {
		notFound(id, "UserGroup").write(w)
		return
	}
	s.writeList(w, r, p.limit, ids, more, out)
}
