// Package oktatest provides a fake Okta org for tests and offline
// development, shaped like net/http/httptest.
//
// It is NOT for production: keys are shared between servers in the same
// process, passwords are kept in clear, nothing is persisted (but what
// [Server.DevSetupIn] keeps in its folder) and the sign-in form offers no
// protection against guessing.
//
// A [Server] serves the org authorization server (issuer [Server.URL]) and
// any number of custom authorization servers (issuer URL+"/oauth2/{id}";
// "default" always exists) with Okta's endpoint layout and response shapes:
// discovery, JWKS with a published next key, authorize with a sign-in form
// and an SSO session, token (authorization_code with PKCE, refresh_token,
// client_credentials), userinfo, logout, revoke and introspect. Access
// tokens have Okta's custom-server shape (cid, uid, scp); custom scopes are
// defined with [Server.AddScopes], custom servers with [Server.AddAuthServer].
// Single-page apps call the token endpoint from the browser: their origins
// are trusted with [Server.AddTrustedOrigin] (CORS), as in Okta.
//
//	srv := oktatest.NewServer()
//	defer srv.Close()
//	srv.AddClient(oktatest.Client{
//		ID:           "app",
//		Secret:       "app-secret",
//		RedirectURIs: []string{"http://127.0.0.1:8080/auth/callback"},
//	})
//	srv.AddDemoUsers()
//	// point the relying party at srv.CustomIssuer("default") or srv.Issuer().
//
// Fault injection for negative tests: [Server.MutateIDToken] (claims, headers
// and broken signatures, see [SignMode]), [Server.MutateUserInfo],
// [Server.MutateDiscovery], [Server.MutateLogoutToken],
// [Server.MutateTokenResponse], [Server.Fault] (per-endpoint delays,
// statuses, bodies and huge bodies), [Server.SetDown], [Server.Rotate],
// [Server.SetSigningAlg] (ES256 instead of Okta's RS256) and
// [Server.TokenRequests].
//
// OpenID Connect details, as Okta Identity Engine does them: acr_values
// (unknown values are ignored; "urn:okta:loa:2fa:any", "phr" and "phrh"
// add a "Verify with code" step to the sign-in form, see
// [VerificationCode], when the user's [User.Authenticators] allow, and
// answer unmet_authentication_requirements to the redirect URI when they
// do not; the ID token echoes "acr"), prompt=enroll_authenticator with
// enroll_amr_values and max_age=0, and idp (both recorded, see
// [Server.AuthorizeRequests]), a "sid" claim per SSO session, refresh
// tokens with offline_access, rotated by default with Okta's grace period
// and reuse detection ([Server.RotateRefreshTokens],
// [Server.SetRefreshGracePeriod]). A custom authorization server refuses
// the groups scope until a test defines it ([Server.AddScopes]).
//
// Logout: when a user signs out at the fake, front-channel iframes
// ([Client.FrontchannelLogoutURI]). When an admin clears a user's sessions
// ([Server.EndSession], [Server.ClearUserSessions], DELETE
// /api/v1/users/{id}/sessions), suspends or deactivates the user
// ([Server.SetUserStatus], the lifecycle calls of the Management API),
// Universal Logout requests signed with the org's keys go to the
// applications' [Client.UniversalLogoutURI], asynchronously and with
// retries ([UniversalLogoutDelivery], [Server.UniversalLogoutDeliveries]).
// Okta never sends OpenID Connect back-channel logout tokens, and neither
// does the fake unless [Server.SendBackchannelLogout] turns them on, to
// stand in for another provider ([Client.BackchannelLogoutURI],
// [BackchannelDelivery]).
//
// Directory and Management API: users with Okta's statuses, groups
// ([Group], "Everyone" built in), memberships and app assignments, loadable
// from JSON ([Server.LoadDirectoryFile]) or generated at scale
// ([Server.AddGeneratedUsers]: 100,000 users page quickly). /api/v1/users
// and /api/v1/groups (with members and a user's groups) answer as Okta
// does: Link rel="next" pagination with opaque cursors, search and filter
// (lastUpdated gt …), DEPROVISIONED users hidden without them, user
// lifecycle (suspend, unsuspend, deactivate) and clearing sessions,
// X-Rate-Limit-* headers, 429 E0000047 bursts ([Server.BurstTooManyRequests]),
// Okta's error JSON. Service apps authenticate with private_key_jwt
// ([Client.PublicKeys]) and DPoP ([DPoPMode]), or an SSWS token
// ([Server.AddAPIToken]). Groups claims follow the org's "groups claim
// filter" and custom servers' Groups claims ([Server.SetGroupsClaim]),
// with Okta's 100-group limit.
//
// Plain OAuth 2.0: every Server also serves a GitHub-like provider that is
// not an OpenID provider ([Server.PlainOAuth2], [PlainAuthorizePath]): no
// discovery, no ID token, a /user endpoint with a numeric "id" and a
// "login", PKCE required, sharing the org's users, clients and sign-in
// form.
//
// [Server.DevSetup] prepares a server for local development, as the
// "oktasso dev" command does; [Server.DevSetupIn] also keeps its keys and
// users in a folder, so it stays the same org across restarts.
//
// Like httptest, the package panics on misuse (an unknown authorization
// server, a duplicate client, calling Start twice). Untrusted HTTP input never
// panics: it gets Okta's error responses.
package oktatest
