package oktasso

import (
	"errors"
	"time"
)

// errSessionRevoked means a session was ended (revoked) while a request was
// about to write it back.
var errSessionRevoked = errors.New("oktasso: the session was ended")

// session is the value kept, encrypted and authenticated, in the session
// cookie (or, with Ref, in the Store with only a stub in the cookie). Its
// encoding is sessionFields (sessioncodec.go). A session returned by
// loadSession may be shared with the verified-cookie cache: never modify
// one in place, modify a copy.
type session struct {
	V         int
	ID        string // random: revocation, logout index and store key
	Gen       int64  // bumped by each token refresh
	Ref       bool   // a stub: the data is in the Store under "s:"+ID
	Issuer    string
	Subject   string
	Email     string
	Verified  bool
	Name      string
	Username  string
	Groups    []string
	Internal  bool
	LocalID   string
	SID       string
	AuthTime  int64
	ACR       string              // authentication context class (acr claim)
	AMR       []string            // authentication methods (amr claim)
	Checked   int64               // last time membership (Internal, Groups) was evaluated
	APIGroups bool                // Groups came from the Management API, not the claim
	Claims    map[string][]string // kept claims (Config.Session.Claims, policies)
	Created   int64               // sign-in time, unix seconds
	Seen      int64               // last time the cookie was written: idle expiry counts from here
	Expires   int64               // absolute end, never extended

	IDToken      string // for id_token_hint at sign-out; see also idSealed
	AccessToken  string // with Config.Session.KeepAccessToken or refresh
	RefreshToken string // with offline_access
	TokenExpiry  int64  // access token expiry, unix seconds
	TokenLife    int64  // the access token's lifetime as issued, seconds (sizes the refresh margin; 0 unknown)

	// UsernameIsEmail is the codec's: Username was Email (sessionSealer).
	UsernameIsEmail bool

	// idSealed is the ID token still sealed, as the value it was opened
	// from carried it (see the v4 format), when IDToken was not decoded:
	// read it with cookies.idToken. Sealing writes it back unchanged.
	idSealed string

	chunks int // cookies the request carried it in; 0 for a new session
}

// hasIDToken reports whether the session keeps an ID token, decoded or not.
func (s *session) hasIDToken() bool { return s.IDToken != "" || s.idSealed != "" }

// dropIDToken forgets the ID token.
func (s *session) dropIDToken() { s.IDToken, s.idSealed = "", "" }

// sessionModelVersion is session.V of every session this version builds
// or decodes, so that a zero session is never valid. It is never written:
// the format of a sealed value is its first byte, sessionWireFormat.
const sessionModelVersion = 3

func (s *session) user() *User {
	u := &User{
		Issuer: s.Issuer, Subject: s.Subject, Email: s.Email, EmailVerified: s.Verified,
		Name: s.Name, Username: s.Username, Groups: s.Groups, Internal: s.Internal,
		LocalID: s.LocalID, SessionID: s.SID, ACR: s.ACR, AMR: s.AMR,
	}
	if s.AuthTime != 0 {
		u.AuthTime = time.Unix(s.AuthTime, 0)
	}
	if len(s.Claims) > 0 {
		u.Claims = make(map[string]any, len(s.Claims))
		for k, v := range s.Claims {
			u.Claims[k] = v
		}
	}
	return u
}

func sessionFor(u *User, idToken string, now time.Time, maxAge time.Duration) *session {
	s := &session{
		V: sessionModelVersion, ID: randomString(16), Issuer: u.Issuer, Subject: u.Subject, Email: u.Email, Verified: u.EmailVerified,
		Name: u.Name, Username: u.Username, Groups: u.Groups, Internal: u.Internal, LocalID: u.LocalID,
		APIGroups: u.apiGroups, SID: u.SessionID, ACR: u.ACR, AMR: u.AMR, Checked: now.Unix(), Created: now.Unix(), Seen: now.Unix(),
		Expires: now.Add(maxAge).Unix(), IDToken: idToken,
	}
	if !u.AuthTime.IsZero() {
		s.AuthTime = u.AuthTime.Unix()
	}
	return s
}

// valid reports whether the session is still alive at now.
func (s *session) valid(now time.Time, idle time.Duration) bool {
	n := now.Unix()
	return s.V == sessionModelVersion && s.ID != "" && s.Subject != "" && n < s.Expires && n < s.Seen+int64(idle/time.Second) && s.Created <= n+int64(clockSkew/time.Second)
}

// stub is what the cookie carries for a session kept in the Store.
func (s *session) stub() *session {
	return &session{V: s.V, ID: s.ID, Ref: true, Issuer: s.Issuer, Created: s.Created, Seen: s.Seen, Expires: s.Expires}
}
