package oktatest_test

import (
	"encoding/json"
	"fmt"

	"github.com/oktasso/oktasso/oktatest"
)

func ExampleNewServer() {
	srv := oktatest.NewServer()
	defer srv.Close()
	srv.AddClient(oktatest.Client{
		ID:           "app",
		Secret:       "app-secret",
		RedirectURIs: []string{"http://127.0.0.1:8080/auth/callback"},
	})
	alice := srv.AddDemoUsers()[0]
	srv.AutoLogin(alice.Login) // no sign-in form in automated tests

	resp, err := srv.Client().Get(srv.CustomIssuer("default") + "/.well-known/openid-configuration")
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	var doc struct {
		Issuer        string `json:"issuer"`
		Authorization string `json:"authorization_endpoint"`
	}
	json.NewDecoder(resp.Body).Decode(&doc)
	fmt.Println(doc.Issuer == srv.URL+"/oauth2/default")
	fmt.Println(doc.Authorization == srv.URL+"/oauth2/default/v1/authorize")
	// Output:
	// true
	// true
}

func ExampleServer_MutateIDToken() {
	srv := oktatest.NewServer()
	defer srv.Close()
	// Every ID token from now on has a foreign audience and a broken
	// signature; a correct relying party must refuse the sign-in.
	srv.MutateIDToken(func(t *oktatest.Token) {
		t.Claims["aud"] = "someone-else"
		t.Sign = oktatest.SignCorrupt
	})
	defer srv.MutateIDToken(nil)
	fmt.Println(oktatest.SignCorrupt)
	// Output: SignCorrupt
}
