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
	"strings"

	"github.com/oktasso/oktasso"
	"github.com/oktasso/oktasso/oktatest"
)

// ExampleOAuth2Provider signs a user in with a plain OAuth 2.0 provider
// shaped like GitHub (the fake's), whose endpoints are entered by hand and
// whose userinfo has a numeric "id" and a "login".
func ExampleOAuth2Provider() {
	fake := oktatest.NewServer()
	defer fake.Close()
	fake.AddDemoUsers()
	fake.AutoLogin("alice@example.com")

	app := httptest.NewUnstartedServer(nil)
	base := "http://" + app.Listener.Addr().String()
	fake.AddClient(oktatest.Client{
		ID: "Iv1.example", Secret: "example-secret", AuthMethod: "client_secret_post",
		RedirectURIs: []string{base + oktasso.CallbackPath},
	})
	gh := fake.PlainOAuth2() // for GitHub itself: https://github.com/login/oauth/authorize, …
	auth, err := oktasso.New(context.Background(), oktasso.Config{
		BaseURL: base,
		OAuth2: &oktasso.OAuth2Provider{
			Identity:    "https://github.com",
			AuthURL:     gh.AuthURL,
			TokenURL:    gh.TokenURL,
			UserInfoURL: gh.UserInfoURL,
			Scopes:      []string{"read:user", "user:email"},
			Mapping:     oktasso.ClaimMapping{Subject: "id", Username: "login"},
		},
		HTTPClient: fake.Client(),
		Logger:     slog.New(slog.NewTextHandler(io.Discard, nil)),
		Client:     oktasso.ClientConfig{ID: "Iv1.example", Secret: "example-secret", AuthMethod: oktasso.ClientSecretPost},
	})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/auth/", auth.Handler())
	mux.Handle("/webapp", auth.WebApp(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u := oktasso.UserFrom(r.Context())
		fmt.Fprintf(w, "%s signed in with %s as %s", u.Name, u.Issuer, u.Username)
	})))
	app.Config.Handler = mux
	app.Start()
	defer app.Close()

	visit(newBrowser(), app.URL+"/webapp")
	// Output: 200 Alice Example signed in with https://github.com as alice
}

// newBrowser returns a client that keeps cookies and follows redirects,
// like a browser.
func newBrowser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar}
}

// visit GETs u with browser and prints the final status and body.
func visit(browser *http.Client, u string) {
	resp, err := browser.Get(u)
	if err != nil {
		log.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(resp.StatusCode, strings.TrimSpace(string(body)))
}
