package oktatest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/oktasso/oktasso/oktatest"
)

// A directory sync reads every user with an API token, following the Link
// headers; it never builds a cursor itself.
func ExampleServer_AddAPIToken() {
	srv := oktatest.NewServer()
	defer srv.Close()
	srv.AddAPIToken("00api-token")
	srv.AddGeneratedGroups(3)
	srv.AddGeneratedUsers(450, 1)

	users, pages := 0, 0
	for next := srv.URL + "/api/v1/users?limit=200"; next != ""; pages++ {
		req, _ := http.NewRequest("GET", next, nil)
		req.Header.Set("Authorization", "SSWS 00api-token")
		resp, err := srv.Client().Do(req)
		if err != nil {
			panic(err)
		}
		var page []struct {
			ID      string            `json:"id"`
			Profile map[string]string `json:"profile"`
		}
		json.NewDecoder(resp.Body).Decode(&page)
		resp.Body.Close()
		users += len(page)
		next = ""
		for _, l := range resp.Header.Values("Link") { // one or two headers
			for _, link := range strings.Split(l, ",") {
				if u, ok := strings.CutSuffix(strings.TrimSpace(link), `>; rel="next"`); ok {
					next = strings.TrimPrefix(u, "<")
				}
			}
		}
	}
	fmt.Println(users, "users in", pages, "pages")
	// Output: 450 users in 3 pages
}

// ExampleServer_ClearUserSessions shows Okta's server-to-server logout: an
// admin clears a user's sessions, and every application with a Universal
// Logout endpoint the user is assigned to receives a signed request naming
// the user. The call returns at once; UniversalLogoutDeliveries waits for
// the answers.
func ExampleServer_ClearUserSessions() {
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// A real endpoint verifies the bearer JWT with the org's keys
		// (typ global-token-revocation+jwt, iss, aud, exp) before it ends
		// the user's sessions.
		w.WriteHeader(http.StatusNoContent)
	}))
	defer app.Close()
	okta := oktatest.NewServer()
	defer okta.Close()
	alice := okta.AddUser(oktatest.User{ID: "00ualice", Login: "alice@example.com"})
	okta.AddClient(oktatest.Client{
		ID: "app", Secret: "app-secret",
		RedirectURIs:       []string{app.URL + "/auth/callback"},
		UniversalLogoutURI: app.URL + "/auth/global-token-revocation",
	})

	okta.ClearUserSessions(alice.ID, false)
	ds, err := okta.UniversalLogoutDeliveries(context.Background())
	if err != nil {
		panic(err)
	}
	for _, d := range ds {
		fmt.Println(d.ClientID, d.Event, d.Status, strings.Replace(d.Body, okta.URL, "ORG", 1))
	}
	// Output: app clear_sessions 204 {"sub_id":{"format":"iss_sub","iss":"ORG","sub":"00ualice"}}
}

// ExampleServer_UniversalLogoutDeliveries suspends a user through the
// Management API, as an admin or a security tool would; the application
// is told with a Universal Logout request, identified by email here.
func ExampleServer_UniversalLogoutDeliveries() {
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	}))
	defer app.Close()
	okta := oktatest.NewServer()
	defer okta.Close()
	okta.AddAPIToken("00api-token")
	okta.AddUser(oktatest.User{ID: "00ubob", Login: "bob@example.com"})
	okta.AddClient(oktatest.Client{
		ID: "app", Secret: "app-secret",
		RedirectURIs:         []string{app.URL + "/auth/callback"},
		UniversalLogoutURI:   app.URL + "/auth/global-token-revocation",
		UniversalLogoutEmail: true,
	})

	req, _ := http.NewRequest("POST", okta.URL+"/api/v1/users/00ubob/lifecycle/suspend", nil)
	req.Header.Set("Authorization", "SSWS 00api-token")
	resp, err := okta.Client().Do(req)
	if err != nil {
		panic(err)
	}
	resp.Body.Close()
	ds, _ := okta.UniversalLogoutDeliveries(context.Background())
	u, _ := okta.LookupUser("00ubob")
	fmt.Println(resp.StatusCode, u.Status)
	for _, d := range ds {
		fmt.Println(d.Event, d.Attempts, d.Status, d.Body)
	}
	// Output:
	// 200 SUSPENDED
	// suspend 1 204 {"sub_id":{"format":"email","email":"bob@example.com"}}
}
