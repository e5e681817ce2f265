package plainoauth_test

import (
	"slices"
	"testing"

	"github.com/oktasso/oktasso"
	"github.com/oktasso/oktasso/plainoauth"
)

func TestGitHub(t *testing.T) {
	cfg := oktasso.Config{OAuth2: plainoauth.GitHub(), Client: oktasso.ClientConfig{ID: "Iv1.abc", Secret: "s"}}
	eff, err := cfg.Normalize()
	if err != nil {
		t.Fatalf("Normalize() with GitHub() = %v; want no error", err)
	}
	if eff.Issuer != "https://github.com" || !slices.Equal(eff.Scopes, []string{"read:user", "user:email"}) {
		t.Errorf("Normalize() = Issuer %q, Scopes %q; want https://github.com, [read:user user:email]", eff.Issuer, eff.Scopes)
	}
	want := plainoauth.Mapping{Subject: "id", Email: "email", EmailVerified: "email_verified", Name: "name", Username: "login", Groups: "groups"}
	if got := eff.OAuth2.Mapping; got != want {
		t.Errorf("Normalize().OAuth2.Mapping = %+v; want %+v", got, want)
	}
}

func TestGitHubFresh(t *testing.T) {
	a := plainoauth.GitHub()
	a.Identity = "https://github.example.com"
	a.Scopes[0] = "repo"
	a.Mapping.Subject = "node_id"
	b := plainoauth.GitHub()
	if a == b || b.Identity != "https://github.com" || b.Scopes[0] != "read:user" || b.Mapping.Subject != "id" {
		t.Errorf("GitHub() after changing an earlier result = %+v; want a new, unchanged Provider", b)
	}
}
