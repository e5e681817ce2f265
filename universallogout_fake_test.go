package oktasso

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/oktasso/oktasso/oktatest"
)

// TestFakeUniversalLogoutEndsSessions: end to end with the fake org, which
// behaves like Okta: when it suspends or deactivates a user, or clears
// their sessions (Go calls or the Management API), its signed Universal
// Logout request reaches the app's endpoint, which answers 204, and the
// user's next request is refused while another user's session still works.
func TestFakeUniversalLogoutEndsSessions(t *testing.T) {
	const (
		uloClientID = "0oauniversallogout"
		apiToken    = "00-test-api-token"
	)
	tests := []struct {
		name      string
		wantEvent string
		act       func(t *testing.T, h *harness, id string)
	}{
		{"suspend (Go)", "suspend", func(_ *testing.T, h *harness, id string) { h.fake.SetUserStatus(id, "SUSPENDED") }},
		{"deactivate (Go)", "deactivate", func(_ *testing.T, h *harness, id string) { h.fake.SetUserStatus(id, "DEPROVISIONED") }},
		{"clear sessions (Go)", "clear_sessions", func(_ *testing.T, h *harness, id string) { h.fake.ClearUserSessions(id, false) }},
		{"suspend (Management API)", "suspend", func(t *testing.T, h *harness, id string) {
			mgmt(t, h, http.MethodPost, "/api/v1/users/"+id+"/lifecycle/suspend", apiToken, http.StatusOK)
		}},
		{"deactivate (Management API)", "deactivate", func(t *testing.T, h *harness, id string) {
			mgmt(t, h, http.MethodPost, "/api/v1/users/"+id+"/lifecycle/deactivate", apiToken, http.StatusOK)
		}},
		{"clear sessions (Management API)", "clear_sessions", func(t *testing.T, h *harness, id string) {
			mgmt(t, h, http.MethodDelete, "/api/v1/users/"+id+"/sessions", apiToken, http.StatusNoContent)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, nil)
			h.fake.AddAPIToken(apiToken)
			h.fake.AddClient(oktatest.Client{
				ID: uloClientID, Secret: "test-secret",
				RedirectURIs:       []string{h.app.URL + CallbackPath},
				UniversalLogoutURI: h.app.URL + "/auth/global-token-revocation",
			})
			h.cfg.Client.ID = uloClientID
			h.restart()

			a, b := h.browser(), h.browser()
			h.login(a, alice, "/")
			h.login(b, bob, "/")
			h.alive(t, a, "alice", true)
			h.alive(t, b, "bob", true)

			tt.act(t, h, h.userID(t, alice))
			ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
			defer cancel()
			got, err := h.fake.UniversalLogoutDeliveries(ctx)
			if err != nil || len(got) != 1 {
				t.Fatalf("deliveries = %+v, %v; want one", got, err)
			}
			if d := got[0]; d.Status != http.StatusNoContent || d.Event != tt.wantEvent || d.ClientID != uloClientID {
				t.Fatalf("delivery: %s for %s answered %d (err %v); want %s answered 204", d.Event, d.ClientID, d.Status, d.Err, tt.wantEvent)
			}
			h.alive(t, a, "alice", false)
			h.alive(t, b, "bob", true)
		})
	}
}

// mgmt calls the fake's Management API with an API token and checks the
// status.
func mgmt(t *testing.T, h *harness, method, path, token string, want int) {
	t.Helper()
	req, err := http.NewRequest(method, h.fake.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "SSWS "+token)
	req.Header.Set("Accept", "application/json")
	resp, err := h.fake.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	resp.Body.Close()
	if resp.StatusCode != want {
		t.Fatalf("%s %s = %d; want %d", method, path, resp.StatusCode, want)
	}
}
