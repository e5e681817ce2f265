package main

import (
	"crypto/rand"

	"github.com/oktasso/oktasso"
	"github.com/oktasso/oktasso/oktatest"
)

// devClientID is the client ID of the application that dev mode registers
// in the fake Okta org.
const devClientID = "oktasso-dev"

// devWorkspaceGroup is the Okta group whose members are internal (workspace)
// members in dev mode; the demo user alice is in it, bob is not.
const devWorkspaceGroup = "Workspace Members"

// devOktaConfig registers this application in the fake Okta org fake, the way
// an admin creates an "OIDC Web Application" in Okta (sign-in redirect URI
// baseURL+"/auth/callback", sign-out redirect URI
// baseURL+"/auth/logout/callback", a client secret), and returns the
// oktasso.Config that points at it. Dev mode and the tests share it.
//
// The client secret is random per call; session keys are left empty, so
// oktasso uses a random key per process: sessions end when the app
// restarts, as does the fake org.
func devOktaConfig(fake *oktatest.Server, baseURL string) oktasso.Config {
	secret := rand.Text()
	fake.AddClient(oktatest.Client{
		ID:                     devClientID,
		Secret:                 secret,
		RedirectURIs:           []string{baseURL + oktasso.CallbackPath},
		PostLogoutRedirectURIs: []string{baseURL + oktasso.LogoutCallbackPath},
	})
	return oktasso.Config{
		Issuer:          fake.Issuer(),
		ClientID:        devClientID,
		ClientSecret:    oktasso.Secret(secret),
		BaseURL:         baseURL,
		WorkspaceGroups: []string{devWorkspaceGroup},
		HTTPClient:      fake.Client(),
		// OnLogin is set by newApp to the account store's hook.
	}
}
