package oktatest

import (
	"slices"
	"strings"
)

// Client is an OIDC application registered in the fake org.
type Client struct {
	// ID is the client_id. Required and unique.
	ID string
	// Secret is the client secret. Empty means a public client: token
	// endpoint authentication "none", and PKCE required at authorize.
	Secret string
	// RedirectURIs are the registered sign-in redirect URIs; authorize and
	// token requests must use one of them exactly.
	RedirectURIs []string
	// PostLogoutRedirectURIs are the registered sign-out redirect URIs
	// accepted by the logout endpoint.
	PostLogoutRedirectURIs []string
	// AuthMethod is the token endpoint authentication method:
	// "client_secret_basic" (the default when Secret is set),
	// "client_secret_post" or "none" (the default, and the only choice,
	// when Secret is empty). The token endpoint accepts only this method.
	AuthMethod string
	// AssignedUsers are the logins of the users assigned to the
	// application (case-insensitive). nil means every user is assigned; an
	// empty non-nil slice means nobody is.
	AssignedUsers []string
}

// User is a user of the fake org's directory.
type User struct {
	// ID is the user id, the "sub" of ID tokens. When empty, AddUser
	// generates one shaped like Okta's: "00u" and 17 random characters.
	ID string
	// Login is the Okta username, the "preferred_username" claim. Required
	// and unique (case-insensitive).
	Login string
	// Email is the primary email; defaults to Login.
	Email string
	// FirstName and LastName make up "given_name", "family_name" and "name".
	FirstName, LastName string
	// Password is checked by the sign-in form (in clear: this is a fake).
	Password string
	// Status is the Okta user status, "ACTIVE" by default. Users with any
	// other status (e.g. "SUSPENDED", "DEPROVISIONED") cannot sign in, and an
	// existing SSO session of theirs is ignored.
	Status string
	// Groups are the names of the user's groups. Every user is also in
	// "Everyone", which need not be listed.
	Groups []string
}

// clientRec is a registered client.
type clientRec struct {
	Client
}

// assigned reports whether the user with login may use the client.
func (c *clientRec) assigned(login string) bool {
	if c.AssignedUsers == nil {
		return true
	}
	return slices.ContainsFunc(c.AssignedUsers, func(l string) bool { return strings.EqualFold(l, login) })
}

// userRec is a directory user.
type userRec struct {
	User
	updated int64 // unix seconds, the updated_at claim
}

// groups returns the user's group names, "Everyone" first.
func (u *userRec) groups() []string {
	gs := []string{"Everyone"}
	for _, g := range u.Groups {
		if !slices.Contains(gs, g) {
			gs = append(gs, g)
		}
	}
	return gs
}

// AddClient registers an OIDC application. It panics if c.ID is empty or
// already registered, or if AuthMethod is unknown or does not fit Secret.
func (s *Server) AddClient(c Client) {
	if c.ID == "" {
		panic("oktatest: AddClient: empty client ID")
	}
	switch {
	case c.AuthMethod == "" && c.Secret != "":
		c.AuthMethod = "client_secret_basic"
	case c.AuthMethod == "" && c.Secret == "":
		c.AuthMethod = "none"
	case c.AuthMethod == "none" && c.Secret != "":
		panic("oktatest: AddClient: AuthMethod \"none\" with a Secret")
	case (c.AuthMethod == "client_secret_basic" || c.AuthMethod == "client_secret_post") && c.Secret == "":
		panic("oktatest: AddClient: AuthMethod " + c.AuthMethod + " without a Secret")
	case c.AuthMethod != "none" && c.AuthMethod != "client_secret_basic" && c.AuthMethod != "client_secret_post":
		panic("oktatest: AddClient: unsupported AuthMethod " + c.AuthMethod)
	}
	c.RedirectURIs = slices.Clone(c.RedirectURIs)
	c.PostLogoutRedirectURIs = slices.Clone(c.PostLogoutRedirectURIs)
	c.AssignedUsers = slices.Clone(c.AssignedUsers)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.clients[c.ID] != nil {
		panic("oktatest: AddClient: duplicate client " + c.ID)
	}
	s.clients[c.ID] = &clientRec{c}
}

// AddUser adds a user to the directory and returns it with ID, Email and
// Status filled in. It panics if Login is empty or taken, or ID is taken.
func (s *Server) AddUser(u User) User {
	if u.Login == "" {
		panic("oktatest: AddUser: empty Login")
	}
	if u.Email == "" {
		u.Email = u.Login
	}
	if u.Status == "" {
		u.Status = "ACTIVE"
	}
	u.Groups = slices.Clone(u.Groups)
	s.mu.Lock()
	defer s.mu.Unlock()
	if u.ID == "" {
		u.ID = randomID("00u", 20)
	}
	key := strings.ToLower(u.Login)
	if _, ok := s.logins[key]; ok || s.users[u.ID] != nil {
		panic("oktatest: AddUser: duplicate user " + u.Login)
	}
	s.users[u.ID] = &userRec{User: u, updated: s.now().Unix()}
	s.logins[key] = u.ID
	u.Groups = slices.Clone(u.Groups)
	return u
}

// AddDemoUsers adds the offline-development directory and returns its
// users. The sign-in form then lists their logins and passwords.
//
//   - alice@example.com, password "alice-password": Alice Example, an
//     internal member, in groups "Workspace Members" and "Engineering".
//   - bob@partner.example, password "bob-password": Bob Partner, an
//     external user, in group "Partners".
func (s *Server) AddDemoUsers() []User {
	users := []User{
		s.AddUser(User{
			Login: "alice@example.com", Password: "alice-password",
			FirstName: "Alice", LastName: "Example",
			Groups: []string{"Workspace Members", "Engineering"},
		}),
		s.AddUser(User{
			Login: "bob@partner.example", Password: "bob-password",
			FirstName: "Bob", LastName: "Partner",
			Groups: []string{"Partners"},
		}),
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.demo = append(s.demo, users...)
	return users
}

// AutoLogin makes authorize requests that would show the sign-in form (no
// SSO session, prompt=login, or max_age exceeded) sign the user with login
// in at once, without a form. prompt=none still needs an existing session.
// The empty login restores the form. It panics if login is not a user.
func (s *Server) AutoLogin(login string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if login != "" && s.userByLoginLocked(login) == nil {
		panic("oktatest: AutoLogin: unknown user " + login)
	}
	s.autoLogin = login
}

// userByLoginLocked returns the user with login, or nil. s.mu must be held.
func (s *Server) userByLoginLocked(login string) *userRec {
	return s.users[s.logins[strings.ToLower(login)]]
}
