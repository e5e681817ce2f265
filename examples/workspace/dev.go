package main

import (
	"github.com/oktasso/oktasso"
	"github.com/oktasso/oktasso/oktatest"
)

// devClientID is the client ID of the application that dev mode registers
// in the fake Okta org.
const devClientID = "oktasso-dev"

// devWorkspaceGroup is the Okta group whose members are internal (workspace)
// members in dev mode; the demo user alice is in it, bob is not.
const devWorkspaceGroup = "Workspace Members"

// devSetup prepares the fake Okta org fake the way "oktasso dev" does
// (oktatest.Server.DevSetup): it registers this application as an admin
// creates an "OIDC Web Application" in Okta (sign-in redirect URI
// baseURL+"/auth/callback", sign-out redirect URI
// baseURL+"/auth/logout/callback", a random client secret), adds the demo
// users unless the directory has users already, and returns the
// oktasso.Config that points at the org authorization server, with what
// was set up. Dev mode and the tests share it.
//
// Session keys are left empty, so oktasso uses a random key per process:
// sessions end when the app restarts, as does the fake org.
func devSetup(fake *oktatest.Server, baseURL string) (oktasso.Config, oktatest.DevInfo) {
	info := fake.DevSetup(oktatest.DevApp{
		ClientID:               devClientID,
		RedirectURIs:           []string{baseURL + oktasso.CallbackPath},
		PostLogoutRedirectURIs: []string{baseURL + "/auth/logout/callback"},
	})
	return oktasso.Config{
		Issuer:     info.OrgIssuer,
		BaseURL:    baseURL,
		HTTPClient: fake.Client(),
		// Hooks.OnLogin is set by newApp to the account store's hook.
		Client: oktasso.ClientConfig{ID: info.ClientID, Secret: oktasso.Secret(info.ClientSecret)},
		Access: oktasso.AccessConfig{Workspace: oktasso.RequireGroups(devWorkspaceGroup)},
	}, info
}

// devOktaConfig is devSetup without the DevInfo.
func devOktaConfig(fake *oktatest.Server, baseURL string) oktasso.Config {
	cfg, _ := devSetup(fake, baseURL)
	return cfg
}
