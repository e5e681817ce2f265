package oktatest

import (
	"errors"
	"slices"
	"strings"
	"time"
)

// Client is an OIDC application registered in the fake org.
type Client struct {
	// ID is the client_id. Required and unique.
	ID string
	// Secret is the client secret. Empty means a public client (token
	// endpoint authentication "none", and PKCE required at authorize)
	// unless the client has public keys.
	Secret string
	// RedirectURIs are the registered sign-in redirect URIs; authorize and
	// token requests must use one of them exactly.
	RedirectURIs []string
	// PostLogoutRedirectURIs are the registered sign-out redirect URIs
	// accepted by the logout endpoint.
	PostLogoutRedirectURIs []string
	// AuthMethod is the token endpoint authentication method:
	// "client_secret_basic" (the default when Secret is set),
	// "client_secret_post", "private_key_jwt" (the default when PublicKeys
	// or JWKS is set) or "none" (the default, and the only choice, when the
	// client has neither a secret nor keys). The token endpoint accepts only
	// this method.
	AuthMethod string
	// AssignedUsers are the logins of the users assigned to the
	// application (case-insensitive). nil means every user is assigned; an
	// empty non-nil slice means nobody is.
	AssignedUsers []string
	// FrontchannelLogoutURI, when set, is loaded in an iframe of the
	// fake's signed-out page, with "iss" and "sid" query parameters, when
	// a user who signed in to the application signs out at the fake.
	FrontchannelLogoutURI string
	// BackchannelLogoutURI, when set and the server sends back-channel
	// logout tokens ([Server.SendBackchannelLogout], off by default because
	// Okta never sends them), receives a POSTed "logout_token" when a user
	// who signed in to the application signs out at the fake or is signed
	// out by [Server.EndSession]. See [BackchannelDelivery].
	BackchannelLogoutURI string
	// UniversalLogoutURI, when set, is the application's Universal Logout
	// (Global Token Revocation) endpoint, as registered in an Okta app
	// integration: it receives a signed request when a user assigned to
	// the application has their sessions cleared, is suspended or is
	// deactivated. See [UniversalLogoutDelivery].
	UniversalLogoutURI string
	// UniversalLogoutEmail identifies the user by email in Universal
	// Logout requests ({"format":"email"}, the "Email" subject format of
	// Okta's integration settings) instead of by issuer and subject
	// ({"format":"iss_sub"}, the default here).
	UniversalLogoutEmail bool
	// PublicKeys are the keys that verify the client's private_key_jwt
	// assertions, like the keys of a service app in Okta's admin console.
	PublicKeys []PublicKey
	// JWKS is a JSON Web Key Set, {"keys":[…]}, with more public keys for
	// private_key_jwt (RSA of at least 2048 bits, or EC P-256). AddClient
	// panics if it does not parse.
	JWKS []byte
	// DPoP selects whether client_credentials access tokens are bound to a
	// key with DPoP (RFC 9449). The zero value, [DPoPDefault], requires
	// DPoP from clients with public keys, as Okta does for new service apps.
	DPoP DPoPMode
	// AdminRole gives the application an admin role, which the Management
	// API requires (besides the okta.* scopes) of OAuth access tokens;
	// without it every API call answers 403 E0000006.
	AdminRole bool
}

// DPoPMode says whether a client's client_credentials tokens are DPoP-bound.
type DPoPMode int

const (
	// DPoPDefault requires DPoP when the client has PublicKeys or JWKS,
	// and issues Bearer tokens otherwise.
	DPoPDefault DPoPMode = iota
	// DPoPRequired requires a DPoP proof on every client_credentials
	// request: a request without one fails with invalid_dpop_proof.
	DPoPRequired
	// DPoPOff never binds tokens: a DPoP header is ignored and the token is
	// a Bearer token, as for apps whose "Require DPoP" box is unchecked.
	DPoPOff
)

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
	// Status is the Okta user status, "ACTIVE" by default; the others are
	// STAGED, PROVISIONED, RECOVERY, LOCKED_OUT, PASSWORD_EXPIRED, SUSPENDED
	// and DEPROVISIONED. Users with any status but ACTIVE cannot sign in,
	// and an existing SSO session of theirs is ignored.
	Status string
	// Authenticators are the authenticators the user has enrolled, by
	// Okta's authenticator keys. nil means "okta_password" and
	// "okta_email" (codes by email). Step-up with acr_values looks at them:
	// "phr" (phishing-resistant) needs "webauthn" (a passkey or security
	// key), "phrh" (phishing-resistant, hardware-protected) needs
	// "okta_verify" (Okta Verify FastPass), "urn:okta:loa:2fa:any" needs
	// any authenticator besides "okta_password"; a user without them gets
	// unmet_authentication_requirements. The fake verifies every second
	// factor with [VerificationCode]. prompt=enroll_authenticator adds the
	// authenticators its enroll_amr_values name ("pop" webauthn, "hwk"
	// okta_verify, "otp" google_otp, "sms" and "tel" phone_number, "email"
	// okta_email, "kba" security_question).
	Authenticators []string
	// Groups are the names of the user's groups. A group that does not
	// exist yet is created as an OKTA_GROUP. Every user is also in
	// "Everyone", which need not be listed.
	Groups []string
	// Created and LastUpdated are set from the server's clock (to the
	// millisecond); AddUser keeps non-zero values, to seed a directory with
	// history. UpdateUser and SetUserStatus move LastUpdated.
	Created, LastUpdated time.Time
}

// userStatuses are Okta's user statuses.
var userStatuses = []string{"ACTIVE", "STAGED", "PROVISIONED", "RECOVERY", "LOCKED_OUT", "PASSWORD_EXPIRED", "SUSPENDED", "DEPROVISIONED"}

// clientRec is a registered client.
type clientRec struct {
	Client
	keys []PublicKey // PublicKeys and the keys of JWKS
}

// assigned reports whether the user with login may use the client.
func (c *clientRec) assigned(login string) bool {
	if c.AssignedUsers == nil {
		return true
	}
	return slices.ContainsFunc(c.AssignedUsers, func(l string) bool { return strings.EqualFold(l, login) })
}

// dpopRequired reports whether the client's client_credentials requests
// must carry a DPoP proof.
func (c *clientRec) dpopRequired() bool {
	switch c.DPoP {
	case DPoPRequired:
		return true
	case DPoPOff:
		return false
	}
	return len(c.keys) > 0
}

// userRec is a directory user. Its User.Groups slice is replaced, never
// modified in place, so that copies of User taken under s.mu stay valid.
type userRec struct {
	User
	updated       int64               // LastUpdated in unix seconds, the updated_at claim
	groupIDs      map[string]struct{} // ids of the user's groups but Everyone
	statusChanged time.Time           // zero until SetUserStatus
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

// directory holds the groups and the sorted indexes of the fake org; the
// users themselves are in Server.users. Guarded by s.mu.
type directory struct {
	groups     map[string]*groupRec // by id
	groupNames map[string]string    // name → id
	everyone   *groupRec
	userIDs    idIndex // every user id
	groupIDs   idIndex // every group id
	generated  int     // users made by AddGeneratedUsers
	genGroups  int     // groups made by AddGeneratedGroups
}

// orgCreated is when the built-in group Everyone was created: a fixed
// past date, since Server.Now may not be set yet.
var orgCreated = time.Date(2015, 1, 1, 0, 0, 0, 0, time.UTC)

// initDirectory creates the directory with the built-in group Everyone.
// s must not be shared yet.
func (s *Server) initDirectory() {
	s.dir = directory{groups: map[string]*groupRec{}, groupNames: map[string]string{}}
	g, err := s.addGroupLocked(Group{Name: "Everyone", Description: "All users in your organization", Type: "BUILT_IN"}, orgCreated)
	if err != nil {
		panic(err.Error())
	}
	s.dir.everyone = s.dir.groups[g.ID]
	s.initAPI()
}

// stamp returns t in UTC truncated to the millisecond, Okta's precision.
func stamp(t time.Time) time.Time { return t.UTC().Truncate(time.Millisecond) }

// AddClient registers an OIDC application. It panics if c.ID is empty or
// already registered, if AuthMethod is unknown or does not fit Secret and
// the keys, or if JWKS or a public key is unusable.
func (s *Server) AddClient(c Client) {
	if c.ID == "" {
		panic("oktatest: AddClient: empty client ID")
	}
	keys, err := clientKeys(c.PublicKeys, c.JWKS)
	if err != nil {
		panic("oktatest: AddClient: " + err.Error())
	}
	if c.AuthMethod, err = clientAuthMethod(c.AuthMethod, c.Secret, len(keys) > 0); err != nil {
		panic("oktatest: AddClient: " + err.Error())
	}
	if c.DPoP < DPoPDefault || c.DPoP > DPoPOff {
		panic("oktatest: AddClient: invalid DPoP mode")
	}
	c.RedirectURIs = slices.Clone(c.RedirectURIs)
	c.PostLogoutRedirectURIs = slices.Clone(c.PostLogoutRedirectURIs)
	c.AssignedUsers = slices.Clone(c.AssignedUsers)
	c.PublicKeys = slices.Clone(c.PublicKeys)
	c.JWKS = slices.Clone(c.JWKS)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.clients[c.ID] != nil {
		panic("oktatest: AddClient: duplicate client " + c.ID)
	}
	s.clients[c.ID] = &clientRec{Client: c, keys: keys}
}

// clientAuthMethod returns a client's token endpoint authentication method:
// method, or when it is empty the one that fits the secret and the keys.
// It fails if method is unknown or does not fit them.
func clientAuthMethod(method, secret string, hasKeys bool) (string, error) {
	switch method {
	case "":
		switch {
		case hasKeys:
			return "private_key_jwt", nil
		case secret != "":
			return "client_secret_basic", nil
		}
		return "none", nil
	case "none":
		if secret != "" {
			return "", errors.New(`AuthMethod "none" with a Secret`)
		}
	case "client_secret_basic", "client_secret_post":
		if secret == "" {
			return "", errors.New("AuthMethod " + method + " without a Secret")
		}
	case "private_key_jwt":
		if !hasKeys {
			return "", errors.New("AuthMethod private_key_jwt without PublicKeys or JWKS")
		}
	default:
		return "", errors.New("unsupported AuthMethod " + method)
	}
	return method, nil
}

// AddUser adds a user to the directory and returns it with ID, Email,
// Status, Created and LastUpdated filled in. Groups named in u.Groups that
// do not exist are created. It panics if Login is empty or taken, if ID is
// taken, or if Status is not an Okta user status.
func (s *Server) AddUser(u User) User {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, err := s.addUserLocked(u, s.now())
	if err != nil {
		panic("oktatest: AddUser: " + err.Error())
	}
	return u
}

// checkUserLocked fills in u's defaults and reports why it cannot be added.
// s.mu must be held.
func (s *Server) checkUserLocked(u *User, now time.Time) error {
	if u.Login == "" {
		return errors.New("empty Login")
	}
	if u.Email == "" {
		u.Email = u.Login
	}
	if u.Status == "" {
		u.Status = "ACTIVE"
	}
	if !slices.Contains(userStatuses, u.Status) {
		return errors.New("unknown status " + u.Status)
	}
	if _, ok := s.logins[strings.ToLower(u.Login)]; ok {
		return errors.New("duplicate user " + u.Login)
	}
	if u.ID != "" && s.users[u.ID] != nil {
		return errors.New("duplicate user id " + u.ID)
	}
	if u.Created.IsZero() {
		u.Created = now
	}
	if u.LastUpdated.IsZero() {
		u.LastUpdated = u.Created
	}
	u.Created, u.LastUpdated = stamp(u.Created), stamp(u.LastUpdated)
	return nil
}

// addUserLocked adds a user, creating its missing groups. s.mu must be held.
func (s *Server) addUserLocked(u User, now time.Time) (User, error) {
	if err := s.checkUserLocked(&u, now); err != nil {
		return User{}, err
	}
	if u.ID == "" {
		u.ID = randomID("00u", 20)
	}
	names := u.Groups
	u.Groups = nil
	rec := &userRec{User: u, updated: u.LastUpdated.Unix(), groupIDs: map[string]struct{}{}}
	s.users[u.ID] = rec
	s.logins[strings.ToLower(u.Login)] = u.ID
	s.dir.userIDs.add(u.ID)
	s.dir.everyone.LastMembershipUpdated = stamp(now)
	for _, name := range names {
		if name == "Everyone" {
			continue
		}
		g := s.groupByNameLocked(name)
		if g == nil {
			ng, err := s.addGroupLocked(Group{Name: name}, now)
			if err != nil {
				panic("oktatest: " + err.Error()) // unreachable: the name is free
			}
			g = s.dir.groups[ng.ID]
		}
		s.addMemberLocked(g, rec, now)
	}
	out := rec.User
	out.Groups = slices.Clone(out.Groups)
	return out, nil
}

// SetUserStatus changes a user's status (see [User.Status]) and moves its
// LastUpdated. Suspending (SUSPENDED) or deactivating (DEPROVISIONED) a
// user sends Universal Logout requests, as the Management API's lifecycle
// calls do (see [Client.UniversalLogoutURI]). It panics if the user does
// not exist or status is unknown.
func (s *Server) SetUserStatus(id, status string) {
	if !slices.Contains(userStatuses, status) {
		panic("oktatest: SetUserStatus: unknown status " + status)
	}
	s.mu.Lock()
	u := s.users[id]
	if u == nil {
		s.mu.Unlock()
		panic("oktatest: SetUserStatus: unknown user " + id)
	}
	now := stamp(s.now())
	event := statusEvent(u.Status, status)
	if u.Status != status {
		u.statusChanged = now
	}
	u.Status = status
	u.LastUpdated, u.updated = now, now.Unix()
	s.mu.Unlock()
	if event != "" {
		s.universalLogout(id, event)
	}
}

// UpdateUser replaces the profile (Login, Email, FirstName, LastName) and
// Password of the user with u.ID, and its Status when u.Status is set and
// its groups when u.Groups is non-nil (creating missing groups), then moves
// LastUpdated and returns the user. Email defaults to Login. A change to
// SUSPENDED or DEPROVISIONED sends Universal Logout requests, as
// [Server.SetUserStatus] does. It panics if
// the user does not exist, Login is empty or another user's, or Status is
// unknown.
func (s *Server) UpdateUser(u User) User {
	out, event := func() (User, string) {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.updateUserLocked(u)
	}()
	if event != "" {
		s.universalLogout(out.ID, event)
	}
	return out
}

// updateUserLocked is UpdateUser, returning the Universal Logout event
// of the status change, if any. s.mu must be held.
func (s *Server) updateUserLocked(u User) (User, string) {
	rec := s.users[u.ID]
	if rec == nil {
		panic("oktatest: UpdateUser: unknown user " + u.ID)
	}
	if u.Login == "" {
		panic("oktatest: UpdateUser: empty Login")
	}
	if id, ok := s.logins[strings.ToLower(u.Login)]; ok && id != u.ID {
		panic("oktatest: UpdateUser: duplicate user " + u.Login)
	}
	if u.Status != "" && !slices.Contains(userStatuses, u.Status) {
		panic("oktatest: UpdateUser: unknown status " + u.Status)
	}
	now := s.now()
	delete(s.logins, strings.ToLower(rec.Login))
	s.logins[strings.ToLower(u.Login)] = u.ID
	rec.Login, rec.Email, rec.FirstName, rec.LastName, rec.Password = u.Login, u.Email, u.FirstName, u.LastName, u.Password
	if rec.Email == "" {
		rec.Email = rec.Login
	}
	event := ""
	if u.Status != "" && u.Status != rec.Status {
		event = statusEvent(rec.Status, u.Status)
		rec.Status, rec.statusChanged = u.Status, stamp(now)
	}
	if u.Groups != nil {
		s.setGroupsLocked(rec, u.Groups, now)
	}
	rec.LastUpdated = stamp(now)
	rec.updated = rec.LastUpdated.Unix()
	out := rec.User
	out.Groups = slices.Clone(out.Groups)
	return out, event
}

// setGroupsLocked makes the groups named names (creating missing ones)
// the groups of rec, besides Everyone. s.mu must be held.
func (s *Server) setGroupsLocked(rec *userRec, names []string, now time.Time) {
	keep := map[string]bool{}
	for _, name := range names {
		if name == "Everyone" {
			continue
		}
		g := s.groupByNameLocked(name)
		if g == nil {
			ng, err := s.addGroupLocked(Group{Name: name}, now)
			if err != nil {
				panic("oktatest: UpdateUser: " + err.Error())
			}
			g = s.dir.groups[ng.ID]
		}
		keep[g.ID] = true
		s.addMemberLocked(g, rec, now)
	}
	for id := range rec.groupIDs {
		if !keep[id] {
			s.removeMemberLocked(s.dir.groups[id], rec, now)
		}
	}
}

// DeleteUser hard-deletes a user, as Okta does for a deactivated user: it
// vanishes from the directory, its groups (whose LastMembershipUpdated
// moves) and the Management API. Its sessions and tokens stop working. A
// user not yet DEPROVISIONED is deactivated first, which sends Universal
// Logout requests (event "deactivate") before the user vanishes. It panics
// if the user does not exist.
func (s *Server) DeleteUser(id string) {
	s.mu.Lock()
	u := s.users[id]
	if u == nil {
		s.mu.Unlock()
		panic("oktatest: DeleteUser: unknown user " + id)
	}
	if u.Status != "DEPROVISIONED" {
		s.mu.Unlock()
		s.SetUserStatus(id, "DEPROVISIONED")
		s.mu.Lock()
		if u = s.users[id]; u == nil {
			s.mu.Unlock()
			return
		}
	}
	defer s.mu.Unlock()
	now := s.now()
	for gid := range u.groupIDs {
		s.removeMemberLocked(s.dir.groups[gid], u, now)
	}
	delete(s.users, id)
	delete(s.logins, strings.ToLower(u.Login))
	s.dir.userIDs.remove(id)
	s.dir.everyone.LastMembershipUpdated = stamp(now)
	if strings.EqualFold(s.autoLogin, u.Login) {
		s.autoLogin = ""
	}
}

// LookupUser returns the user with the given id or login (case-insensitive).
func (s *Server) LookupUser(idOrLogin string) (User, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.users[idOrLogin]
	if u == nil {
		u = s.userByLoginLocked(idOrLogin)
	}
	if u == nil {
		return User{}, false
	}
	out := u.User
	out.Groups = slices.Clone(out.Groups)
	return out, true
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
