package directory

import (
	"encoding/json"
	"time"
)

// Okta user statuses that matter to a sync.
const (
	StatusActive        = "ACTIVE"
	StatusSuspended     = "SUSPENDED"
	StatusDeprovisioned = "DEPROVISIONED"
)

// User is an Okta user as a sync sees it. It is a plain value; Profile is
// the sink's to keep (a fresh slice per user).
type User struct {
	ID     string `json:"id"`     // "00u…", stable; link local accounts by it, never by email
	Status string `json:"status"` // ACTIVE, STAGED, PROVISIONED, RECOVERY, LOCKED_OUT, PASSWORD_EXPIRED, SUSPENDED or DEPROVISIONED
	// Login, Email, FirstName and LastName are from the profile.
	Login     string `json:"login"`
	Email     string `json:"email"`
	FirstName string `json:"firstName"`
	LastName  string `json:"lastName"`
	// Created, LastUpdated and StatusChanged are Okta's timestamps
	// (StatusChanged is zero until the status first changes).
	Created       time.Time `json:"created"`
	LastUpdated   time.Time `json:"lastUpdated"`
	StatusChanged time.Time `json:"statusChanged,omitzero"`
	// Profile is the whole profile object, for custom attributes.
	Profile json.RawMessage `json:"profile,omitempty"`
}

// Deprovisioned reports whether the user was deactivated in Okta.
func (u User) Deprovisioned() bool { return u.Status == StatusDeprovisioned }

// Suspended reports whether the user is suspended in Okta: the account
// exists but may not sign in.
func (u User) Suspended() bool { return u.Status == StatusSuspended }

// Group is an Okta group, a plain value.
type Group struct {
	ID          string `json:"id"` // "00g…"
	Name        string `json:"name"`
	Description string `json:"description"`
	Type        string `json:"type"` // OKTA_GROUP, APP_GROUP or BUILT_IN
	// Created, LastUpdated (profile) and LastMembershipUpdated are Okta's
	// timestamps.
	Created               time.Time `json:"created"`
	LastUpdated           time.Time `json:"lastUpdated"`
	LastMembershipUpdated time.Time `json:"lastMembershipUpdated"`
}

// everyone reports whether g is Okta's built-in group of all users, whose
// members a sync does not list.
func (g Group) everyone() bool { return g.Type == "BUILT_IN" && g.Name == "Everyone" }

// fromAPI fills the profile fields from Profile: the Management API's
// JSON has the other fields at the top, with the same names as User's.
func (u *User) fromAPI() User {
	var p struct {
		Login     string `json:"login"`
		Email     string `json:"email"`
		FirstName string `json:"firstName"`
		LastName  string `json:"lastName"`
	}
	if json.Unmarshal(u.Profile, &p) == nil {
		u.Login, u.Email, u.FirstName, u.LastName = p.Login, p.Email, p.FirstName, p.LastName
	}
	return *u
}

// apiGroup is a group in the Management API's JSON: Group's fields, but
// the name and description in "profile".
type apiGroup struct {
	Group
	Profile struct {
		Name        string `json:"name"`
		Description string `json:"description"`
	} `json:"profile"`
}

func (g *apiGroup) group() Group {
	out := g.Group
	out.Name, out.Description = g.Profile.Name, g.Profile.Description
	return out
}
