package oktatest

import (
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"slices"
	"strings"
)

// DevApp describes the application that [Server.DevSetup] registers for
// local development. The zero value is the setup of "oktasso dev".
type DevApp struct {
	// ClientID is the application's client ID; default "oktasso-dev".
	ClientID string
	// ClientSecret is its client secret (client_secret_basic); empty means
	// a random one.
	ClientSecret string
	// RedirectURIs are its sign-in redirect URIs; default
	// ["http://localhost:8080/auth/callback"].
	RedirectURIs []string
	// PostLogoutRedirectURIs are its sign-out redirect URIs; default: for
	// each redirect URI ending in "/auth/callback", the same URL ending in
	// "/auth/logout/callback" (oktasso's routes).
	PostLogoutRedirectURIs []string
}

// DevInfo is what [Server.DevSetup] set up: everything a developer needs to
// point an application at the fake org.
type DevInfo struct {
	// OrgIssuer is the issuer of the org authorization server (the URL).
	OrgIssuer string
	// DefaultIssuer is the issuer of the custom authorization server
	// "default".
	DefaultIssuer string
	// ClientID and ClientSecret are the application's credentials.
	ClientID, ClientSecret string
	// RedirectURIs and PostLogoutRedirectURIs are the URIs the fake
	// accepts for the application.
	RedirectURIs, PostLogoutRedirectURIs []string
	// Users are the directory's users (with their passwords), ordered by
	// login.
	Users []User
	// ServiceClientID is the client ID of the API Services application
	// registered for the Management API (directory sync): it authenticates
	// with private_key_jwt, with the key ServicePrivateKey (PKCS #8 PEM),
	// and has an admin role.
	ServiceClientID string
	// ServicePrivateKey is the service application's private key, PEM.
	ServicePrivateKey string
	// ServiceKeyFile is the file ServicePrivateKey was written to by
	// [Server.DevSetupIn]; empty after DevSetup.
	ServiceKeyFile string
	// APIToken is an SSWS API token the Management API accepts.
	APIToken string
}

// Env returns the environment lines that point an oktasso application at
// the org authorization server: OKTA_ISSUER, OKTA_CLIENT_ID and
// OKTA_CLIENT_SECRET, as "NAME=value".
func (d DevInfo) Env() []string {
	return []string{
		"OKTA_ISSUER=" + d.OrgIssuer,
		"OKTA_CLIENT_ID=" + d.ClientID,
		"OKTA_CLIENT_SECRET=" + d.ClientSecret,
	}
}

// SyncEnv returns the environment lines that point directory sync
// ("oktasso sync", package directory) at the fake org's Management API with
// the API token: OKTA_DOMAIN and OKTA_API_TOKEN, as "NAME=value".
func (d DevInfo) SyncEnv() []string {
	return []string{
		"OKTA_DOMAIN=" + d.OrgIssuer,
		"OKTA_API_TOKEN=" + d.APIToken,
	}
}

// Defaults of DevApp.
const (
	devClientID        = "oktasso-dev"
	devServiceClientID = "oktasso-dev-sync"
	devRedirectURI     = "http://localhost:8080/auth/callback"
)

// DevSetup prepares a started server for local development: it registers
// app (with its defaults filled in) as a confidential web application and,
// when the directory has no users yet, adds the demo users
// ([Server.AddDemoUsers]). For the Management API it also registers an API
// Services application ("oktasso-dev-sync", private_key_jwt, admin role)
// and an API token. It returns what to tell the developer. It panics
// before Start, or if a client ID is taken.
func (s *Server) DevSetup(app DevApp) DevInfo {
	return s.devSetup(app, nil)
}

// devSetup is DevSetup with the service app's key and the API token from
// the saved state st (nil: new ones).
func (s *Server) devSetup(app DevApp, st *devState) DevInfo {
	s.mu.Lock()
	started := s.started
	empty := len(s.users) == 0
	s.mu.Unlock()
	if !started {
		panic("oktatest: DevSetup called before Start")
	}
	if app.ClientID == "" {
		app.ClientID = devClientID
	}
	if app.ClientSecret == "" {
		app.ClientSecret = rand.Text()
	}
	if len(app.RedirectURIs) == 0 {
		app.RedirectURIs = []string{devRedirectURI}
	}
	if len(app.PostLogoutRedirectURIs) == 0 {
		for _, u := range app.RedirectURIs {
			if base, ok := strings.CutSuffix(u, "/auth/callback"); ok {
				app.PostLogoutRedirectURIs = append(app.PostLogoutRedirectURIs, base+"/auth/logout/callback")
			}
		}
	}
	s.AddClient(Client{
		ID:                     app.ClientID,
		Secret:                 app.ClientSecret,
		RedirectURIs:           app.RedirectURIs,
		PostLogoutRedirectURIs: app.PostLogoutRedirectURIs,
		UniversalLogoutURI:     devUniversalLogoutURI(app.RedirectURIs),
	})
	if empty {
		s.AddDemoUsers()
	}
	service, token := st.service()
	if service == nil {
		s.mu.Lock()
		service = s.allocKey("").key
		s.mu.Unlock()
	}
	if token == "" {
		token = rand.Text()
	}
	s.AddClient(Client{ID: devServiceClientID, PublicKeys: []PublicKey{{Key: service}}, AdminRole: true})
	s.AddAPIToken(token)
	der, err := x509.MarshalPKCS8PrivateKey(service)
	if err != nil {
		panic("oktatest: DevSetup: " + err.Error())
	}
	info := DevInfo{
		OrgIssuer:              s.Issuer(),
		DefaultIssuer:          s.CustomIssuer("default"),
		ClientID:               app.ClientID,
		ClientSecret:           app.ClientSecret,
		RedirectURIs:           slices.Clone(app.RedirectURIs),
		PostLogoutRedirectURIs: slices.Clone(app.PostLogoutRedirectURIs),
		ServiceClientID:        devServiceClientID,
		ServicePrivateKey:      string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		APIToken:               token,
	}
	s.mu.Lock()
	for _, u := range s.users {
		c := u.User
		c.Groups = slices.Clone(c.Groups)
		info.Users = append(info.Users, c)
	}
	s.mu.Unlock()
	slices.SortFunc(info.Users, func(a, b User) int { return strings.Compare(strings.ToLower(a.Login), strings.ToLower(b.Login)) })
	return info
}
