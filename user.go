package oktasso

import (
	"strings"
	"time"
)

// User is the signed-in person, as verified at sign-in. Handlers read it with
// [UserFrom]. A User in a request context must be treated as read-only: it
// is shared by concurrent requests of the same session (see
// Config.Session.CacheSize); copy it to change it.
type User struct {
	// Issuer and Subject identify the user for good: link local accounts by
	// this pair, never by email alone. For Okta, Subject is the user id
	// ("00u…").
	Issuer  string `json:"iss"`
	Subject string `json:"sub"`
	// Email and EmailVerified come from the email scope.
	Email         string `json:"email,omitempty"`
	EmailVerified bool   `json:"email_verified,omitempty"`
	// Name is the display name; Username is preferred_username (the Okta login).
	Name     string `json:"name,omitempty"`
	Username string `json:"preferred_username,omitempty"`
	// Groups are the names in the groups claim (or userinfo), if any.
	Groups []string `json:"groups,omitempty"`
	// Internal is true for workspace members; false for external users.
	Internal bool `json:"internal,omitempty"`
	// LocalID is the application's own account id, set by Config.Hooks.OnLogin.
	LocalID string `json:"local_id,omitempty"`
	// AuthTime is when the user last authenticated at the identity provider.
	AuthTime time.Time `json:"auth_time"`
	// ACR is the authentication context class reference (acr claim) of the
	// last authentication, e.g. "urn:okta:loa:2fa:any".
	ACR string `json:"acr,omitempty"`
	// AMR lists the authentication methods of the last authentication
	// (amr claim), e.g. ["pwd", "mfa", "otp"].
	AMR []string `json:"amr,omitempty"`
	// SessionID is the identity provider's session id (sid), if sent.
	SessionID string `json:"sid,omitempty"`
	// Claims holds, during sign-in (in Config.Hooks.OnLogin), every verified
	// ID-token claim with userinfo claims filling the gaps (custom claims
	// included). On later requests it holds only the claims the session
	// keeps (Config.Session.Claims and those policies read), each as a
	// []string. Copy what else you need into your own store at sign-in.
	Claims map[string]any `json:"-"`

	apiGroups bool // Groups came from Config.Access.GroupsSource
	// groupsTruncated: Groups came from a claim as long as Okta's cap,
	// with no GroupsSource to read them all.
	groupsTruncated bool
	// userInfoErr is why userinfo could not be read at sign-in, when the
	// user is as the ID token alone describes them.
	userInfoErr error
}

// emailDomain returns the lower-cased domain of the user's email, or "".
func (u *User) emailDomain() string {
	i := strings.LastIndexByte(u.Email, '@')
	if i < 0 {
		return ""
	}
	return strings.ToLower(u.Email[i+1:])
}
