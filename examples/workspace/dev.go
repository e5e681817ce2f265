package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"syscall"

	"github.com/oktasso/oktasso"
	"github.com/oktasso/oktasso/oktatest"
)

// devClientID is the client ID of the application that dev mode registers
// in the fake Okta org.
const devClientID = "oktasso-dev"

// devWorkspaceGroup is the Okta group whose members are internal (workspace)
// members in dev mode; the demo user alice is in it, bob is not.
const devWorkspaceGroup = "Workspace Members"

// defaultOktaAddr is where dev mode's fake Okta org listens: a fixed
// loopback port, so its issuer (and so the accounts linked to it) stays the
// same across restarts. It is not the app's port (ADDR, default 8080) nor
// "oktasso dev"'s (8081), so the three can run side by side.
const defaultOktaAddr = "127.0.0.1:8082"

// accountsFileName is the accounts file in the state folder.
const accountsFileName = "accounts.json"

// stateDir is the folder dev mode keeps its state in (the fake org's keys
// and users, and the accounts file): dir when set, else
// "oktasso/workspace" in the user's configuration folder, else (a system
// without one) in the temporary folder.
func stateDir(dir string) string {
	if dir != "" {
		return dir
	}
	if base, err := os.UserConfigDir(); err == nil {
		return filepath.Join(base, "oktasso", "workspace")
	}
	return filepath.Join(os.TempDir(), "oktasso-workspace")
}

// resetState forgets what dev mode kept in dir, and the accounts file:
// the next start has a new fake org and no accounts.
func resetState(dir, accountsFile string) error {
	for _, p := range []string{filepath.Join(dir, oktatest.DevStateFile), filepath.Join(dir, oktatest.DevServiceKeyFile), accountsFile} {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("workspace: -reset: %w — fix: delete %s by hand", err, p)
		}
	}
	return nil
}

// listen listens on addr; the error names the setting to change.
func listen(addr, setting string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if errors.Is(err, syscall.EADDRINUSE) {
		return nil, fmt.Errorf("workspace: %s is already in use (another copy of this app, or oktasso dev?) — fix: stop it, or set %s to another address", addr, setting)
	}
	if err != nil {
		return nil, fmt.Errorf("workspace: %s: %w — fix: set %s to a host:port", addr, err, setting)
	}
	return ln, nil
}

// devApp is the application dev mode registers, as an admin creates an
// "OIDC Web Application" in Okta: sign-in redirect URI
// baseURL+"/auth/callback", sign-out redirect URI
// baseURL+"/auth/logout/callback".
func devApp(baseURL string) oktatest.DevApp {
	return oktatest.DevApp{
		ClientID:               devClientID,
		RedirectURIs:           []string{baseURL + oktasso.CallbackPath},
		PostLogoutRedirectURIs: []string{baseURL + "/auth/logout/callback"},
	}
}

// devConfig is the oktasso.Config that points at the fake's org
// authorization server.
//
// Session keys are left empty, so oktasso uses a random key per process:
// sessions end when the app restarts (the fake's sign-in sessions too);
// the accounts stay.
func devConfig(fake *oktatest.Server, baseURL string, info oktatest.DevInfo) oktasso.Config {
	return oktasso.Config{
		Issuer:     info.OrgIssuer,
		BaseURL:    baseURL,
		HTTPClient: fake.Client(),
		// Hooks.OnLogin is set by newApp to the account store's hook.
		Client: oktasso.ClientConfig{ID: info.ClientID, Secret: oktasso.Secret(info.ClientSecret)},
		Access: oktasso.AccessConfig{Workspace: oktasso.RequireGroups(devWorkspaceGroup)},
	}
}

// devSetup prepares the fake Okta org fake the way "oktasso dev" does
// (oktatest.Server.DevSetup), with nothing kept: the tests use it.
func devSetup(fake *oktatest.Server, baseURL string) (oktasso.Config, oktatest.DevInfo) {
	info := fake.DevSetup(devApp(baseURL))
	return devConfig(fake, baseURL, info), info
}

// devSetupIn is devSetup keeping the fake org's keys and users in dir
// (oktatest.Server.DevSetupIn), so a restart on the same address is the
// same issuer with the same users: the same person signs in to the same
// local account.
func devSetupIn(fake *oktatest.Server, baseURL, dir string) (oktasso.Config, oktatest.DevInfo, error) {
	info, err := fake.DevSetupIn(dir, devApp(baseURL))
	if err != nil {
		return oktasso.Config{}, info, fmt.Errorf("workspace: %w — fix: run with -reset (or delete %s) to start a new fake org", err, dir)
	}
	return devConfig(fake, baseURL, info), info, nil
}

// devOktaConfig is devSetup without the DevInfo.
func devOktaConfig(fake *oktatest.Server, baseURL string) oktasso.Config {
	cfg, _ := devSetup(fake, baseURL)
	return cfg
}
