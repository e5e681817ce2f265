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
	"time"

	"github.com/oktasso/oktasso"
	"github.com/oktasso/oktasso/oktatest"
)

// newExampleApp starts the fake Okta and an app whose routes are added by
// routes, and returns a browser that follows redirects as alice.
func newExampleApp(routes func(auth *oktasso.Auth, mux *http.ServeMux)) (app *httptest.Server, browser *http.Client, done func()) {
	okta := oktatest.NewServer()
	okta.AddDemoUsers()
	okta.AutoLogin("alice@example.com")
	app = httptest.NewUnstartedServer(nil)
	base := "http://" + app.Listener.Addr().String()
	okta.AddClient(oktatest.Client{ID: "0oaexample", Secret: "example-secret", RedirectURIs: []string{base + oktasso.CallbackPath}})
	auth, err := oktasso.New(context.Background(), oktasso.Config{
		Issuer:     okta.Issuer(),
		BaseURL:    base,
		HTTPClient: okta.Client(),
		Logger:     slog.New(slog.NewTextHandler(io.Discard, nil)),
		Client:     oktasso.ClientConfig{ID: "0oaexample", Secret: "example-secret"},
		Access:     oktasso.AccessConfig{Workspace: oktasso.RequireGroups("Workspace Members")},
	})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/auth/", auth.Handler())
	routes(auth, mux)
	app.Config.Handler = mux
	app.Start()
	jar, _ := cookiejar.New(nil)
	return app, &http.Client{Jar: jar}, func() { app.Close(); okta.Close() }
}

func get(c *http.Client, url string) string {
	resp, err := c.Get(url)
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return fmt.Sprint(resp.StatusCode, " ", string(body))
}

// ExampleAuth_Require guards routes with composable policies. A refusal
// names the requirement that failed, not the values it wanted.
func ExampleAuth_Require() {
	app, browser, done := newExampleApp(func(auth *oktasso.Auth, mux *http.ServeMux) {
		hello := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, "hello ", oktasso.UserFrom(r.Context()).Email)
		})
		engineers := auth.Require(oktasso.RequireGroups("Engineering"), oktasso.RequireEmailDomains("example.com"))
		finance := auth.Require(oktasso.AnyOf(oktasso.RequireGroups("Finance"), oktasso.RequireClaim("department", "finance")))
		mux.Handle("/eng", auth.Workspace(engineers(hello)))
		mux.Handle("/finance", finance(hello))
	})
	defer done()
	fmt.Println(get(browser, app.URL+"/eng"))
	req, _ := http.NewRequest("GET", app.URL+"/finance", nil)
	req.Header.Set("Accept", "application/json")
	resp, _ := browser.Do(req)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Print(resp.StatusCode, " ", string(body))
	// Output:
	// 200 hello alice@example.com
	// 403 {"error":"access_denied","error_description":"You are signed in, but your account is not allowed to use this application.","requirement":"one of: membership in a required group; the \"department\" attribute with a required value"}
}

// ExampleAuth_RequireStepUp asks for a second factor before a sensitive
// page: the browser goes through Okta again and comes back to the page.
func ExampleAuth_RequireStepUp() {
	app, browser, done := newExampleApp(func(auth *oktasso.Auth, mux *http.ServeMux) {
		mfa := auth.RequireStepUp(oktasso.RequireAMR("mfa"), oktasso.MaxAge(10*time.Minute))
		mux.Handle("/keys", auth.Workspace(mfa(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, "keys, after ", oktasso.UserFrom(r.Context()).AMR)
		}))))
	})
	defer done()
	fmt.Println(get(browser, app.URL+"/keys"))
	// Output: 200 keys, after [pwd mfa]
}
