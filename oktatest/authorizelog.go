package oktatest

import (
	"net/url"
	"slices"
)

// authorizeLogSize bounds how many authorize requests the server keeps.
const authorizeLogSize = 100

// AuthorizeRequest is an authorize request that passed validation, as
// [Server.AuthorizeRequests] reports it.
type AuthorizeRequest struct {
	// Issuer is the issuer of the authorization server asked.
	Issuer string
	// Query holds the request's parameters as sent, such as "prompt",
	// "acr_values", "max_age", "enroll_amr_values", "idp" and
	// "login_hint".
	Query url.Values
}

// AuthorizeRequests returns the last 100 authorize requests that passed
// validation (whatever happened next: a sign-in, an error for the user),
// oldest first. Tests use it to assert what a relying party asked for,
// such as prompt=enroll_authenticator with enroll_amr_values, or idp (the
// fake accepts any idp value and signs the user in itself).
func (s *Server) AuthorizeRequests() []AuthorizeRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := slices.Clone(s.authorizeLog)
	for i := range out {
		out[i].Query = cloneValues(out[i].Query)
	}
	return out
}

// recordAuthorize keeps the query of a valid authorize request.
func (s *Server) recordAuthorize(as *authServer, q url.Values) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.authorizeLog) == authorizeLogSize {
		s.authorizeLog = slices.Delete(s.authorizeLog, 0, 1)
	}
	s.authorizeLog = append(s.authorizeLog, AuthorizeRequest{Issuer: as.issuer(s.URL), Query: cloneValues(q)})
}

// cloneValues returns a deep copy of v.
func cloneValues(v url.Values) url.Values {
	out := make(url.Values, len(v))
	for k, vs := range v {
		out[k] = slices.Clone(vs)
	}
	return out
}
