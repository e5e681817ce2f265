package oktatest

import (
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// startDevIn starts a fake on addr and sets it up with the state in dir.
func startDevIn(t *testing.T, addr, dir string) (*Server, DevInfo) {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listen %s: %v", addr, err)
	}
	s := NewUnstartedServer()
	s.Listener = ln
	s.Start()
	info, err := s.DevSetupIn(dir, DevApp{})
	if err != nil {
		s.Close()
		t.Fatalf("DevSetupIn(%s) = %v", dir, err)
	}
	return s, info
}

// jwksOf returns the raw JWKS of an authorization server.
func jwksOf(t *testing.T, s *Server, path string) string {
	t.Helper()
	resp, body := get(t, s.Client(), s.URL+path)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s = %d", path, resp.StatusCode)
	}
	return body
}

func TestDevSetupInStaysPut(t *testing.T) {
	dir := t.TempDir()
	first, info1 := startDevIn(t, "127.0.0.1:0", dir)
	addr := first.Listener.Addr().String()
	orgKeys1, defKeys1 := jwksOf(t, first, "/oauth2/v1/keys"), jwksOf(t, first, "/oauth2/default/v1/keys")
	first.Close()

	// A restart on the same address with the same folder is the same org.
	second, info2 := startDevIn(t, addr, dir)
	defer second.Close()
	if info2.OrgIssuer != info1.OrgIssuer || info2.DefaultIssuer != info1.DefaultIssuer {
		t.Errorf("issuers after restart = %s, %s; want %s, %s", info2.OrgIssuer, info2.DefaultIssuer, info1.OrgIssuer, info1.DefaultIssuer)
	}
	if got := jwksOf(t, second, "/oauth2/v1/keys"); got != orgKeys1 {
		t.Errorf("org JWKS after restart = %s; want %s", got, orgKeys1)
	}
	if got := jwksOf(t, second, "/oauth2/default/v1/keys"); got != defKeys1 {
		t.Errorf("default JWKS after restart = %s; want %s", got, defKeys1)
	}
	ids := func(us []User) []string {
		var out []string
		for _, u := range us {
			out = append(out, u.Login+"="+u.ID)
		}
		return out
	}
	if !slices.Equal(ids(info2.Users), ids(info1.Users)) || len(info1.Users) != 2 {
		t.Errorf("users after restart = %v; want %v", ids(info2.Users), ids(info1.Users))
	}
	if info2.ClientSecret != info1.ClientSecret || info2.APIToken != info1.APIToken || info2.ServicePrivateKey != info1.ServicePrivateKey {
		t.Error("client secret, API token or service key changed across a restart")
	}
	first.mu.Lock()
	org1 := first.orgID
	first.mu.Unlock()
	second.mu.Lock()
	org2 := second.orgID
	second.mu.Unlock()
	if org1 != org2 {
		t.Errorf("org id after restart = %s; want %s", org2, org1)
	}

	// The state is the owner's only, and the key file is the service key.
	for _, name := range []string{DevStateFile, DevServiceKeyFile} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v, mode %v; want mode 0600", name, err, fi.Mode().Perm())
		}
	}
	if b, _ := os.ReadFile(info2.ServiceKeyFile); string(b) != info2.ServicePrivateKey {
		t.Errorf("ServiceKeyFile %s does not hold the service key", info2.ServiceKeyFile)
	}

	// Another folder is another org.
	other, info3 := startDevIn(t, "127.0.0.1:0", t.TempDir())
	defer other.Close()
	if info3.Users[0].ID == info1.Users[0].ID || jwksOf(t, other, "/oauth2/v1/keys") == orgKeys1 {
		t.Error("a new state folder reused the first org's users or keys")
	}
}

func TestDevSetupInBadState(t *testing.T) {
	for _, tc := range []struct{ name, content string }{
		{"not json", "{"},
		{"other version", `{"version":99}`},
		{"bad key", `{"version":1,"keys":{"org/cur":"AAAA"},"kids":{"org/cur":"k"}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, DevStateFile), []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			s := NewServer()
			defer s.Close()
			if _, err := s.DevSetupIn(dir, DevApp{}); err == nil {
				t.Errorf("DevSetupIn with %s = nil error", tc.name)
			}
		})
	}
}

func TestDevSetupServiceApp(t *testing.T) {
	s := NewServer()
	defer s.Close()
	info := s.DevSetup(DevApp{})
	want := []string{"OKTA_DOMAIN=" + s.URL, "OKTA_API_TOKEN=" + info.APIToken}
	if !slices.Equal(info.SyncEnv(), want) || info.ServiceClientID != "oktasso-dev-sync" || info.ServiceKeyFile != "" {
		t.Errorf("DevSetup service = %q, %q, %q", info.SyncEnv(), info.ServiceClientID, info.ServiceKeyFile)
	}
	// The API token works on the Management API.
	req, _ := http.NewRequest("GET", s.URL+"/api/v1/users?limit=1", nil)
	req.Header.Set("Authorization", "SSWS "+info.APIToken)
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var users []map[string]any
	err = json.NewDecoder(resp.Body).Decode(&users)
	resp.Body.Close()
	if resp.StatusCode != 200 || err != nil || len(users) != 1 {
		t.Errorf("GET /api/v1/users with the dev API token = %d, %v, %d users", resp.StatusCode, err, len(users))
	}
}
