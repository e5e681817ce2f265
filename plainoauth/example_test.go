package plainoauth_test

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
	"github.com/oktasso/oktasso/plainoauth"
)

// ExampleGitHub signs a user in with GitHub: here the fake's GitHub-like
// provider, whose userinfo has a numeric "id" and a "login" as GitHub's
// does, stands in for GitHub's endpoints.
func ExampleGitHub() {
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
	gh := plainoauth.GitHub() // for GitHub itself, use it as it is
	fakeGH := fake.PlainOAuth2()
	gh.AuthURL, gh.TokenURL, gh.UserInfoURL = fakeGH.AuthURL, fakeGH.TokenURL, fakeGH.UserInfoURL
	auth, err := oktasso.New(context.Background(), oktasso.Config{
		BaseURL:    base,
		OAuth2:     gh,
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

// ExampleProvider configures GitHub Enterprise Server, whose endpoints
// differ from github.com's: start from GitHub and change the URLs.
func ExampleProvider() {
	ghe := plainoauth.GitHub()
	ghe.Identity = "https://github.example.com"
	ghe.AuthURL = "https://github.example.com/login/oauth/authorize"
	ghe.TokenURL = "https://github.example.com/login/oauth/access_token"
	ghe.UserInfoURL = "https://github.example.com/api/v3/user"
	cfg := oktasso.Config{OAuth2: ghe, Client: oktasso.ClientConfig{ID: "Iv1.example", Secret: "example-secret"}}
	eff, err := cfg.Normalize()
	fmt.Println(eff.Issuer, eff.Scopes, eff.OAuth2.Mapping.Subject, eff.OAuth2.Mapping.Email, err)
	// Output: https://github.example.com [read:user user:email] id email <nil>
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
