package oktasso_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"

	"github.com/oktasso/oktasso"
	"github.com/oktasso/oktasso/oktatest"
)

// ExampleAuth_EndSessions signs alice in, then ends every session of hers
// from Go, as an admin console's "sign out everywhere" or directory sync
// would: her browser is signed out on its next request. Register
// auth.UniversalLogoutURL() in Okta and Okta does the same when an admin
// clears her sessions.
func ExampleAuth_EndSessions() {
	okta := oktatest.NewServer()
	defer okta.Close()
	alice := okta.AddUser(oktatest.User{Login: "alice@example.com", Email: "alice@example.com"})
	okta.AutoLogin("alice@example.com")

	app := httptest.NewUnstartedServer(nil)
	base := "http://" + app.Listener.Addr().String()
	okta.AddClient(oktatest.Client{ID: "0oaexample", Secret: "example-secret", RedirectURIs: []string{base + oktasso.CallbackPath}})
	auth, err := oktasso.New(context.Background(), oktasso.Config{
		Issuer: okta.Issuer(), BaseURL: base, HTTPClient: okta.Client(),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Client: oktasso.ClientConfig{ID: "0oaexample", Secret: "example-secret"},
	})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/auth/", auth.Handler())
	mux.Handle("/app", auth.WebApp(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "hello ", oktasso.UserFrom(r.Context()).Email)
	})))
	app.Config.Handler = mux
	app.Start()
	defer app.Close()

	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	visit := func() int {
		resp, err := browser.Get(app.URL + "/app")
		if err != nil {
			log.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	// Sign in: follow the redirects by hand (to Okta, back to the callback, to /app).
	u := app.URL + "/app"
	for range 5 {
		resp, err := browser.Get(u)
		if err != nil {
			log.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusFound {
			break
		}
		u = resp.Header.Get("Location")
	}
	fmt.Println("signed in:", visit())

	if err := auth.EndSessions(context.Background(), okta.Issuer(), alice.ID); err != nil {
		log.Fatal(err)
	}
	fmt.Println("after EndSessions:", visit())
	fmt.Println("endpoint to register:", auth.UniversalLogoutURL() == base+"/auth/global-token-revocation")
	// Output:
	// signed in: 200
	// after EndSessions: 302
	// endpoint to register: true
}
