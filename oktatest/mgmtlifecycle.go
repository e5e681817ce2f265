package oktatest

import (
	"net/http"
)

// handleLifecycle serves POST /api/v1/users/{id}/lifecycle/{op} for the
// operations suspend (ACTIVE users only), unsuspend (SUSPENDED users only)
// and deactivate, answering 200 {} as Okta does. Suspending and
// deactivating send Universal Logout requests (see [Server.SetUserStatus]).
func (s *Server) handleLifecycle(w http.ResponseWriter, r *http.Request) {
	id, op := r.PathValue("id"), r.PathValue("op")
	s.mu.Lock()
	u := s.lookupUserLocked(id)
	var status, userID string
	if u != nil {
		status, userID = u.Status, u.ID
	}
	s.mu.Unlock()
	if u == nil {
		notFound(id, "User").write(w)
		return
	}
	var to string
	switch op {
	case "suspend":
		if status != "ACTIVE" {
			apiErr(http.StatusBadRequest, "E0000001", "Api validation failed: suspend", "Cannot suspend a user that is not active").write(w)
			return
		}
		to = "SUSPENDED"
	case "unsuspend":
		if status != "SUSPENDED" {
			apiErr(http.StatusBadRequest, "E0000001", "Api validation failed: unsuspend", "Cannot unsuspend a user that is not suspended").write(w)
			return
		}
		to = "ACTIVE"
	case "deactivate":
		to = "DEPROVISIONED"
	default:
		notFound(r.URL.Path, "Resource").write(w)
		return
	}
	if status != to {
		s.SetUserStatus(userID, to)
	}
	writeJSON(w, http.StatusOK, map[string]any{})
}

// handleClearSessions serves DELETE /api/v1/users/{id}/sessions: every SSO
// session of the user ends, with oauthTokens=true their access and refresh
// tokens are revoked too, and Universal Logout requests go out (see
// [Server.ClearUserSessions]). It answers 204.
func (s *Server) handleClearSessions(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	s.mu.Lock()
	u := s.lookupUserLocked(id)
	var userID string
	if u != nil {
		userID = u.ID
	}
	s.mu.Unlock()
	if u == nil {
		notFound(id, "User").write(w)
		return
	}
	s.ClearUserSessions(userID, r.URL.Query().Get("oauthTokens") == "true")
	w.WriteHeader(http.StatusNoContent)
}
