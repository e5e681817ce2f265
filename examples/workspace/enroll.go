package main

import (
	"net/http"

	"github.com/oktasso/oktasso"
)

// enrollMethods are the authenticators GET /security/enroll asks Okta to
// enroll, by their amr values (Okta's enroll_amr_values).
var enrollMethods = []string{"okta_verify"}

// enrollPage sends the signed-in user through Okta to enroll an
// authenticator (oktasso.EnrollAuthenticator: prompt=enroll_authenticator,
// max_age=0, response_type=none) and back to /webapp. It comes back through
// the sign-in callback, so no other redirect URI needs registering; Okta
// answers with no token, so the session stays as it was. Mount it behind
// auth.WebApp: someone signed out signs in first.
func enrollPage(auth *oktasso.Auth) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth.StartLogin(w, r, "/webapp", oktasso.EnrollAuthenticator(enrollMethods...))
	})
}
