package oktatest

import (
	"fmt"
	"regexp"
	"slices"
)

// DefaultGroupsClaimLimit is how many groups a groups claim may carry before
// Okta fails the token request.
const DefaultGroupsClaimLimit = 100

// GroupsClaim configures the groups claim of an authorization server, as an
// Okta admin does: for the org authorization server with the app's "Groups
// claim filter" (Sign On tab), for a custom authorization server with a
// claim of value type Groups.
//
// Without a GroupsClaim, the org authorization server puts every group of
// the user in a "groups" claim of the ID token when the groups scope is
// granted: handy for tests, more generous than a real org, where nothing is
// sent until an admin sets a filter. A custom authorization server, as at
// Okta, sends no groups without a GroupsClaim (and refuses the groups
// scope until it is defined with [Server.AddScopes]).
type GroupsClaim struct {
	// Name is the claim's name. Default "groups".
	Name string
	// Filter is a regular expression that a group name must match whole
	// (Okta's "Matches regex"); "" admits every group (".*").
	Filter string
	// AccessToken also puts the claim in access tokens (custom servers
	// only; the org server's filter applies to ID tokens alone).
	AccessToken bool
	// Always includes the claim whatever the scopes ("Include in: Any
	// scope"); otherwise only when the groups scope is granted.
	Always bool
}

type groupsClaimRec struct {
	GroupsClaim
	re *regexp.Regexp
}

// SetGroupsClaim sets the groups claim of the authorization server
// authServerID ("" for the org server). It panics if the server is unknown
// or the filter is not a valid regular expression.
func (s *Server) SetGroupsClaim(authServerID string, c GroupsClaim) {
	if c.Name == "" {
		c.Name = "groups"
	}
	filter := c.Filter
	if filter == "" {
		filter = ".*"
	}
	re, err := regexp.Compile("^(?:" + filter + ")$")
	if err != nil {
		panic(fmt.Sprintf("oktatest: SetGroupsClaim: filter %q: %v", c.Filter, err))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if authServerID != "" && s.custom[authServerID] == nil {
		panic(fmt.Sprintf("oktatest: SetGroupsClaim: no authorization server %q", authServerID))
	}
	if authServerID == "" && c.AccessToken {
		panic("oktatest: SetGroupsClaim: the org authorization server's groups claim is in ID tokens only")
	}
	if s.groupsClaims == nil {
		s.groupsClaims = map[string]*groupsClaimRec{}
	}
	s.groupsClaims[authServerID] = &groupsClaimRec{GroupsClaim: c, re: re}
}

// SetGroupsClaimLimit sets how many groups a groups claim may carry before
// the token request fails (DefaultGroupsClaimLimit unless set; 0 removes
// the limit, for tests of relying parties that must cope with huge claims
// from other providers).
func (s *Server) SetGroupsClaimLimit(n int) {
	if n < 0 {
		panic("oktatest: SetGroupsClaimLimit: negative limit")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.groupsLimit = n
	s.groupsLimitSet = true
}

// groupsFor decides the groups claim of a token for user: its name, the
// groups, and whether it goes in the ID token and the access token. Over
// the limit it returns an error for the token response. s.mu must be held.
func (s *Server) groupsFor(as *authServer, user User, scopes []string) (name string, groups []string, inID, inAccess bool, oerr *oauthError) {
	withScope := slices.Contains(scopes, "groups")
	all := (&userRec{User: user}).groups()
	name, groups, inID = "groups", all, withScope
	if c := s.groupsClaims[as.id]; c != nil {
		name, inID, inAccess = c.Name, c.Always || withScope, c.AccessToken && (c.Always || withScope)
		groups = nil
		for _, g := range all {
			if c.re.MatchString(g) {
				groups = append(groups, g)
			}
		}
	} else if as.id != "" {
		return "", nil, false, false, nil
	}
	limit := DefaultGroupsClaimLimit
	if s.groupsLimitSet {
		limit = s.groupsLimit
	}
	if (inID || inAccess) && limit > 0 && len(groups) > limit {
		return "", nil, false, false, &oauthError{status: 400, code: "invalid_request",
			desc: fmt.Sprintf("The '%s' claim would hold %d groups, over the limit of %d; filter the groups claim.", name, len(groups), limit)}
	}
	return name, groups, inID, inAccess, nil
}
