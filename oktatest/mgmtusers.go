package oktatest

import (
	"net/http"
	"slices"
	"strings"
)

// apiUser is a user as the Management API renders it.
type apiUser struct {
	ID              string         `json:"id"`
	Status          string         `json:"status"`
	Created         string         `json:"created"`
	Activated       *string        `json:"activated"`
	StatusChanged   *string        `json:"statusChanged"`
	LastLogin       *string        `json:"lastLogin"`
	LastUpdated     string         `json:"lastUpdated"`
	PasswordChanged *string        `json:"passwordChanged"`
	Type            apiRef         `json:"type"`
	Profile         apiUserProfile `json:"profile"`
	Credentials     apiCredentials `json:"credentials"`
	Links           apiUserLinks   `json:"_links"`
}

type apiUserProfile struct {
	FirstName   string  `json:"firstName"`
	LastName    string  `json:"lastName"`
	MobilePhone *string `json:"mobilePhone"`
	SecondEmail *string `json:"secondEmail"`
	Login       string  `json:"login"`
	Email       string  `json:"email"`
}

type apiRef struct {
	ID string `json:"id"`
}

type apiHref struct {
	Href string `json:"href"`
}

type apiCredentials struct {
	Password *struct{}  `json:"password,omitempty"`
	Emails   []apiEmail `json:"emails"`
	Provider struct {
		Type string `json:"type"`
		Name string `json:"name"`
	} `json:"provider"`
}

type apiEmail struct {
	Value  string `json:"value"`
	Status string `json:"status"`
	Type   string `json:"type"`
}

type apiUserLinks struct {
	Self apiHref `json:"self"`
}

// renderUser returns the API form of u. s.mu must be held.
func (s *Server) renderUser(u *userRec, base string) apiUser {
	a := apiUser{
		ID:            u.ID,
		Status:        u.Status,
		Created:       oktaTime(u.Created),
		StatusChanged: oktaTimePtr(u.statusChanged),
		LastUpdated:   oktaTime(u.LastUpdated),
		Type:          apiRef{ID: s.api.userTypeID},
		Profile: apiUserProfile{
			FirstName: u.FirstName, LastName: u.LastName, Login: u.Login, Email: u.Email,
		},
		Credentials: apiCredentials{Emails: []apiEmail{{Value: u.Email, Status: "VERIFIED", Type: "PRIMARY"}}},
		Links:       apiUserLinks{Self: apiHref{Href: base + "/api/v1/users/" + u.ID}},
	}
	a.Credentials.Provider.Type, a.Credentials.Provider.Name = "OKTA", "OKTA"
	if u.Status != "STAGED" {
		a.Activated = oktaTimePtr(u.Created)
	}
	if u.Password != "" {
		a.PasswordChanged = oktaTimePtr(u.Created)
		a.Credentials.Password = &struct{}{}
	}
	return a
}

// userAttr returns the filter attribute getter of u. s.mu must be held.
func userAttr(u *userRec) func(string) any {
	return func(name string) any {
		switch name {
		case "id":
			return u.ID
		case "status":
			return u.Status
		case "created":
			return u.Created
		case "lastUpdated":
			return u.LastUpdated
		case "statusChanged":
			return u.statusChanged
		case "profile.login":
			return u.Login
		case "profile.email":
			return u.Email
		case "profile.firstName":
			return u.FirstName
		case "profile.lastName":
			return u.LastName
		}
		return nil
	}
}

// handleListUsers serves GET /api/v1/users: limit (default and maximum
// 200), after, filter, search and q. Without filter or search,
// DEPROVISIONED users are left out.
func (s *Server) handleListUsers(w http.ResponseWriter, r *http.Request) {
	p, e := s.parseList(r, 200, 200)
	if e != nil {
		e.write(w)
		return
	}
	q := r.URL.Query()
	pred, filtered, e := apiFilter(q, userAttrs)
	if e != nil {
		e.write(w)
		return
	}
	prefix := strings.ToLower(q.Get("q"))
	s.mu.Lock()
	keep := func(id string) bool {
		u := s.users[id]
		if !filtered && u.Status == "DEPROVISIONED" {
			return false
		}
		if prefix != "" && !slices.ContainsFunc([]string{u.Login, u.Email, u.FirstName, u.LastName}, func(v string) bool {
			return strings.HasPrefix(strings.ToLower(v), prefix)
		}) {
			return false
		}
		return pred == nil || pred(userAttr(u))
	}
	if !filtered && prefix == "" {
		keep = func(id string) bool { return s.users[id].Status != "DEPROVISIONED" }
	}
	ids, more := pageIDs(s.dir.userIDs.ids(), p.after, p.limit, keep)
	out := s.renderUsersLocked(ids)
	s.mu.Unlock()
	s.writeList(w, r, p.limit, ids, more, out)
}

// renderUsersLocked renders the users with the given ids. s.mu must be held.
func (s *Server) renderUsersLocked(ids []string) []apiUser {
	out := make([]apiUser, len(ids))
	for i, id := range ids {
		out[i] = s.renderUser(s.users[id], s.URL)
	}
	return out
}

// writeList writes a page of a list with its Link headers.
func (s *Server) writeList(w http.ResponseWriter, r *http.Request, limit int, ids []string, more bool, page any) {
	last := ""
	if more {
		last = ids[len(ids)-1]
	}
	s.setLinks(w, r, limit, last)
	writeJSON(w, http.StatusOK, page)
}

// lookupUserLocked finds a user by id or login. s.mu must be held.
func (s *Server) lookupUserLocked(idOrLogin string) *userRec {
	if u := s.users[idOrLogin]; u != nil {
		return u
	}
	return s.userByLoginLocked(idOrLogin)
}

// handleGetUser serves GET /api/v1/users/{id}; id may also be a login.
func (s *Server) handleGetUser(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	s.mu.Lock()
	u := s.lookupUserLocked(id)
	var out apiUser
	if u != nil {
		out = s.renderUser(u, s.URL)
	}
	s.mu.Unlock()
	if u == nil {
		notFound(id, "User").write(w)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// handleUserGroups serves GET /api/v1/users/{id}/groups: the user's
// groups, Everyone included, with limit (default and maximum 10000, so
// one page unless a client asks for less; Okta's values are unconfirmed)
// and after.
func (s *Server) handleUserGroups(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	p, e := s.parseList(r, 10000, 10000)
	if e != nil {
		e.write(w)
		return
	}
	s.mu.Lock()
	u := s.lookupUserLocked(id)
	var out []apiGroup
	var ids []string
	var more bool
	if u != nil {
		all := []string{s.dir.everyone.ID}
		for gid := range u.groupIDs {
			all = append(all, gid)
		}
		slices.Sort(all)
		ids, more = pageIDs(all, p.after, p.limit, nil)
		out = make([]apiGroup, len(ids))
		for i, gid := range ids {
			out[i] = renderGroup(s.dir.groups[gid], s.URL)
		}
	}
	s.mu.Unlock()
	if u == nil {
		notFound(id, "User").write(w)
		return
	}
	s.writeList(w, r, p.limit, ids, more, out)
}
