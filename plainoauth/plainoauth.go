// Package plainoauth configures sign-in with a plain OAuth 2.0 provider:
// one that is not an OpenID provider, such as GitHub. Set a [Provider] as
// oktasso.Config.OAuth2; package oktasso does the sign-in, reads the user
// and checks the configuration.
//
// The package holds only configuration: a [Provider] (endpoints entered by
// hand, no discovery), its [Mapping] from userinfo members to the user, and
// ready-made providers such as [GitHub]. It imports nothing of oktasso.
//
// The sign-in keeps state and PKCE (S256); the user is whoever the
// userinfo endpoint describes with the access token, read through the
// Mapping. Without an ID token there is no nonce, no signature to check and
// no provider sign-out: signing out ends only the local session.
// Everything else (sessions, guards, Hooks.OnLogin, policies) works as with
// Okta. RequireEmailDomains needs a verified email, so it admits nobody
// unless Mapping.EmailVerified names a member the provider vouches for.
package plainoauth

// Provider describes a plain OAuth 2.0 provider: its endpoints, the scopes
// to ask for and how its userinfo becomes a user. Set it as
// oktasso.Config.OAuth2; oktasso.New copies it, so changing a Provider
// afterwards has no effect. A Provider is a plain value: share it only
// while nobody changes it.
type Provider struct {
	// Identity is a stable, issuer-like name for the provider, e.g.
	// "https://github.com". It becomes oktasso.User.Issuer (link accounts
	// by Identity and Subject) and binds the session cookies. An https URL
	// (http only on a loopback host). Required; oktasso.Config.Issuer, if
	// set, must equal it. A provider that sends RFC 9207's iss parameter
	// in its callbacks must be named by that issuer. The scheme and host
	// are lower-cased.
	//
	// Identity is trusted: a provider named after another issuer (say an
	// Okta org's) produces users with that issuer and whatever subject its
	// userinfo says. Set it from your own configuration, never from a
	// tenant's or customer's input; where tenants configure providers
	// themselves, link accounts by (tenant, Issuer, Subject).
	Identity string
	// AuthURL is the authorization endpoint, e.g.
	// "https://github.com/login/oauth/authorize". Required; https (http
	// only on a loopback host).
	AuthURL string
	// TokenURL is the token endpoint, e.g.
	// "https://github.com/login/oauth/access_token". Required; https
	// (http only on a loopback host).
	TokenURL string
	// UserInfoURL returns the signed-in user as a JSON object when called
	// with the access token as a Bearer token, e.g.
	// "https://api.github.com/user". Required; https (http only on a
	// loopback host).
	UserInfoURL string
	// Scopes requested at sign-in, e.g. ["read:user", "user:email"]. They
	// replace oktasso.Config.Scopes. Default none (the provider's
	// default); openid is not added.
	Scopes []string
	// Mapping names the userinfo members that make up the oktasso.User.
	Mapping Mapping
}

// Mapping names the members of a userinfo response that make up an
// oktasso.User.
// A name may be a dotted path into nested objects ("data.id"). An empty
// field means the OpenID Connect name given below; "-" means the member is
// not read. Numbers (GitHub's numeric ids) become their decimal text.
//
// For GitHub: Mapping{Subject: "id", Username: "login"}. The whole
// userinfo object is in User.Claims for oktasso.Config.Hooks.OnLogin,
// numbers as json.Number.
type Mapping struct {
	// Subject identifies the user for good. Default "sub". It cannot be
	// "-"; a response without it fails the sign-in.
	Subject string
	// Email is the user's email. Default "email".
	Email string
	// EmailVerified is a boolean member saying the email is verified.
	// Default "email_verified".
	EmailVerified string
	// Name is the display name. Default "name".
	Name string
	// Username is the login name. Default "preferred_username".
	Username string
	// Groups is a list of group names (or a single one). Default "groups".
	Groups string
}

// GitHub returns a Provider for github.com: Identity
// "https://github.com", GitHub's authorize, token and /user endpoints, the
// scopes read:user and user:email, and Mapping{Subject: "id", Username:
// "login"} (the numeric id, which a user keeps when renaming; email and
// name by their default names). Register an OAuth App at GitHub with the
// callback URL BaseURL+"/auth/callback" for its client ID and secret.
//
// GitHub's /user has no verified-email member, so RequireEmailDomains
// admits nobody with it. GitHub Enterprise Server has other endpoints:
// start from this value and change Identity and the URLs.
//
// Each call returns a new Provider; change its fields freely.
func GitHub() *Provider {
	return &Provider{
		Identity:    "https://github.com",
		AuthURL:     "https://github.com/login/oauth/authorize",
		TokenURL:    "https://github.com/login/oauth/access_token",
		UserInfoURL: "https://api.github.com/user",
		Scopes:      []string{"read:user", "user:email"},
		Mapping:     Mapping{Subject: "id", Username: "login"},
	}
}
