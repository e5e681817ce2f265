package oktatest

import (
	"crypto/rand"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// The Management API: a subset of Okta's /api/v1 (users, groups and
// memberships for directory sync; user lifecycle and clearing sessions,
// mgmtlifecycle.go), with Okta's authentication (SSWS API
// tokens, OAuth access tokens from the org authorization server, DPoP),
// pagination by Link headers, rate-limit headers and error bodies.

// apiState is the Management API's state. Guarded by s.mu, except
// cursorKey and userTypeID which never change.
type apiState struct {
	cursorKey    []byte
	userTypeID   string
	tokens       map[string]bool // SSWS API tokens
	combinedLink bool
	rate         rateLimiter
	dpop         dpopState
	assertions   replayCache // client_id + jti of private_key_jwt assertions
}

// initAPI initialises the Management API state. s must not be shared yet.
func (s *Server) initAPI() {
	key := make([]byte, 32)
	rand.Read(key)
	s.api = apiState{
		cursorKey:  key,
		userTypeID: randomID("oty", 20),
		tokens:     map[string]bool{},
		rate:       rateLimiter{buckets: map[string]*rateBucket{}},
		dpop:       dpopState{nonces: map[string]time.Time{}, bound: map[string]boundToken{}},
	}
}

// AddAPIToken registers an API token, accepted by the Management API as
// "Authorization: SSWS <token>" with the rights of a super admin. It panics
// if token is empty.
func (s *Server) AddAPIToken(token string) {
	if token == "" {
		panic("oktatest: AddAPIToken: empty token")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.api.tokens[token] = true
}

// CombineLinkHeaders selects how list responses carry their pagination
// links: as two Link headers, one rel="self" and one rel="next" (false, the
// default and what Okta usually sends), or as one comma-joined Link header
// (true), which proxies may produce. Clients must handle both.
func (s *Server) CombineLinkHeaders(combined bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.api.combinedLink = combined
}

// apiHandler serves an authenticated Management API request.
type apiHandler func(w http.ResponseWriter, r *http.Request)

// mgmtRoutes registers the Management API on mux.
func (s *Server) mgmtRoutes(mux *http.ServeMux) {
	routes := []struct {
		pattern, family, scope string
		h                      apiHandler
	}{
		{"GET /api/v1/users", "users", "okta.users.read", s.handleListUsers},
		{"GET /api/v1/users/{id}", "user", "okta.users.read", s.handleGetUser},
		{"GET /api/v1/users/{id}/groups", "user", "okta.users.read", s.handleUserGroups},
		{"GET /api/v1/groups", "groups", "okta.groups.read", s.handleListGroups},
		{"GET /api/v1/groups/{id}", "groups", "okta.groups.read", s.handleGetGroup},
		{"GET /api/v1/groups/{id}/users", "groups", "okta.groups.read", s.handleGroupUsers},
		{"POST /api/v1/users/{id}/lifecycle/{op}", "user", "okta.users.manage", s.handleLifecycle},
		{"DELETE /api/v1/users/{id}/sessions", "user", "okta.users.manage", s.handleClearSessions},
	}
	for _, rt := range routes {
		mux.HandleFunc(rt.pattern, s.apiEndpoint(rt.family, rt.scope, rt.h))
	}
	mux.HandleFunc("/api/v1/", s.apiEndpoint("other", "", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			apiErr(http.StatusMethodNotAllowed, "E0000022", "The endpoint does not support the provided HTTP method").write(w)
			return
		}
		notFound(r.URL.Path, "Resource").write(w)
	}))
}

// apiEndpoint wraps a handler with rate limiting, fault injection and
// authentication.
func (s *Server) apiEndpoint(family, scope string, h apiHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if e := s.rateLimit(w, family); e != nil {
			e.write(w)
			return
		}
		if e := s.injectedFailure(); e != nil {
			e.write(w)
			return
		}
		if e := s.apiAuth(r, scope); e != nil {
			e.write(w)
			return
		}
		h(w, r)
	}
}

// apiError is an error of the Management API.
type apiError struct {
	status        int
	code, summary string
	causes        []string
	authenticate  string // WWW-Authenticate, if any
}

func apiErr(status int, code, summary string, causes ...string) *apiError {
	return &apiError{status: status, code: code, summary: summary, causes: causes}
}

func notFound(id, kind string) *apiError {
	return apiErr(http.StatusNotFound, "E0000007", "Not found: Resource not found: "+id+" ("+kind+")")
}

func invalidParam(name string) *apiError {
	return apiErr(http.StatusBadRequest, "E0000001", "Api validation failed: "+name, name+": The value is invalid.")
}

// write sends the error as Okta does.
func (e *apiError) write(w http.ResponseWriter) {
	if e.authenticate != "" {
		w.Header().Set("WWW-Authenticate", e.authenticate)
	}
	causes := make([]map[string]string, len(e.causes))
	for i, c := range e.causes {
		causes[i] = map[string]string{"errorSummary": c}
	}
	writeJSON(w, e.status, map[string]any{
		"errorCode":    e.code,
		"errorSummary": e.summary,
		"errorLink":    e.code,
		"errorId":      randomID("oae", 25),
		"errorCauses":  causes,
	})
}

// oktaTime formats t as Okta does: UTC, milliseconds, "Z".
func oktaTime(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}

// oktaTimePtr is oktaTime, or nil (JSON null) for the zero time.
func oktaTimePtr(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	v := oktaTime(t)
	return &v
}

// listParams are the parsed paging parameters of a list request.
type listParams struct {
	limit int
	after string // id to resume after, "" for the first page
}

// parseList reads limit (default def, at most max: larger values are
// lowered, as Okta does) and the opaque "after" cursor.
func (s *Server) parseList(r *http.Request, def, max int) (listParams, *apiError) {
	q := r.URL.Query()
	p := listParams{limit: def}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return p, invalidParam("limit")
		}
		p.limit = min(n, max)
	}
	if c := q.Get("after"); c != "" {
		id, ok := s.decodeCursor(r.URL.Path, c)
		if !ok {
			return p, invalidParam("after")
		}
		p.after = id
	}
	if e := s.largePageFailure(p.limit); e != nil {
		return p, e
	}
	return p, nil
}

// setLinks sets the Link headers of a list response: rel="self" for the
// request, and rel="next" with an opaque cursor when lastID is not "".
func (s *Server) setLinks(w http.ResponseWriter, r *http.Request, limit int, lastID string) {
	s.mu.Lock()
	base, combined := s.URL, s.api.combinedLink
	s.mu.Unlock()
	self := base + r.URL.Path
	if r.URL.RawQuery != "" {
		self += "?" + r.URL.RawQuery
	}
	links := []string{"<" + self + `>; rel="self"`}
	if lastID != "" {
		q := r.URL.Query()
		q.Set("after", s.encodeCursor(r.URL.Path, lastID))
		q.Set("limit", strconv.Itoa(limit))
		links = append(links, "<"+base+r.URL.Path+"?"+q.Encode()+`>; rel="next"`)
	}
	if combined {
		w.Header().Set("Link", strings.Join(links, ", "))
		return
	}
	for _, l := range links {
		w.Header().Add("Link", l)
	}
}

// apiFilter compiles the filter and search parameters (both must match)
// over attrs; it reports whether either was given.
func apiFilter(q url.Values, attrs map[string]attrKind) (predicate, bool, *apiError) {
	var preds []predicate
	for _, name := range []string{"filter", "search"} {
		if v := q.Get(name); v != "" {
			p, err := parseFilter(v, attrs)
			if err != nil {
				return nil, false, apiErr(http.StatusBadRequest, "E0000031", "Invalid search criteria.", name+": "+v)
			}
			preds = append(preds, p)
		}
	}
	if len(preds) == 0 {
		return nil, false, nil
	}
	return func(get func(string) any) bool {
		for _, p := range preds {
			if !p(get) {
				return false
			}
		}
		return true
	}, true, nil
}
