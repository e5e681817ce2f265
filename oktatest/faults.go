package oktatest

import (
	"bytes"
	"net/http"
	"slices"
	"strings"
	"time"
)

// faultEndpoints are the endpoint names Server.Fault accepts.
var faultEndpoints = []string{"discovery", "keys", "authorize", "signin", "token", "userinfo", "logout", "revoke", "introspect", "api"}

// Fault is a failure injected into one endpoint by [Server.Fault].
//
// A fault with Status, Body or HugeBody set answers in place of the
// endpoint (after Delay): the request does not reach it, so it has no
// effect and is not counted by [Server.TokenRequests]. A fault with only
// Delay set makes the endpoint answer normally, late.
type Fault struct {
	// Delay holds each request this long before it is answered. A request
	// whose client gives up meanwhile gets no answer.
	Delay time.Duration
	// Status is the status code of the answer; 0 means 200 when Body or
	// HugeBody is set.
	Status int
	// Body is the answer's body, sent as is (malformed JSON, an HTML error
	// page, …). Empty means an empty body.
	Body []byte
	// ContentType is the answer's Content-Type; empty means
	// "application/json".
	ContentType string
	// HugeBody, when positive, streams this many more bytes (ASCII spaces,
	// which a JSON decoder skips) after Body, chunked, with no
	// Content-Length: a client without a size limit reads them all.
	HugeBody int64
	// Times is how many requests the fault applies to; 0 means every
	// request until [Server.ClearFaults] or the next Fault for the
	// endpoint.
	Times int
}

// faultState is an installed fault and how many requests it has left.
type faultState struct {
	f    Fault
	left int // 0: unlimited
}

// Fault installs f for the endpoint named endpoint, replacing any fault it
// had. The names are "discovery" (both well-known documents), "keys",
// "authorize", "signin" (the sign-in form at [SignInPath]), "token",
// "userinfo", "logout", "revoke", "introspect" (each of every authorization
// server) and "api" (every path under /api/, the Management API). Faults apply while the
// server is up; [Server.SetDown] wins over them. It panics if endpoint is
// unknown, or if f sets nothing or has a negative field.
func (s *Server) Fault(endpoint string, f Fault) {
	if !slices.Contains(faultEndpoints, endpoint) {
		panic("oktatest: Fault: unknown endpoint " + endpoint + "; want one of " + strings.Join(faultEndpoints, ", "))
	}
	if f.Delay < 0 || f.Status < 0 || f.HugeBody < 0 || f.Times < 0 {
		panic("oktatest: Fault: negative Delay, Status, HugeBody or Times")
	}
	if f.Status != 0 && (f.Status < 100 || f.Status > 999) {
		panic("oktatest: Fault: invalid Status")
	}
	if f.Delay == 0 && f.Status == 0 && f.Body == nil && f.HugeBody == 0 {
		panic("oktatest: Fault: the fault does nothing; use ClearFaults to remove faults")
	}
	f.Body = slices.Clone(f.Body)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.faults == nil {
		s.faults = map[string]*faultState{}
	}
	s.faults[endpoint] = &faultState{f: f, left: f.Times}
}

// ClearFaults removes every fault installed by [Server.Fault].
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// faultEndpoint returns the fault endpoint name of a request path, or "".
func faultEndpoint(path string) string {
	switch {
	case path == "/api" || strings.HasPrefix(path, "/api/"):
		return "api"
	case path == SignInPath:
		return "signin"
	case strings.HasPrefix(path, "/.well-known/") || (strings.HasPrefix(path, "/oauth2/") && strings.Contains(path, "/.well-known/")):
		return "discovery"
	}
	rest, ok := strings.CutPrefix(path, "/oauth2/")
	if !ok {
		return ""
	}
	if _, after, found := strings.Cut(rest, "/"); found && !strings.HasPrefix(rest, "v1/") {
		rest = after // a custom server: "{id}/v1/…"
	}
	name, ok := strings.CutPrefix(rest, "v1/")
	if !ok || !slices.Contains(faultEndpoints, name) || name == "api" || name == "discovery" || name == "signin" {
		return ""
	}
	return name
}

// injectFault applies the fault of the request's endpoint, if any, and
// reports whether it answered the request.
func (s *Server) injectFault(w http.ResponseWriter, r *http.Request) bool {
	f, ok := s.takeFault(faultEndpoint(r.URL.Path))
	if !ok {
		return false
	}
	if f.Delay > 0 {
		t := time.NewTimer(f.Delay)
		select {
		case <-r.Context().Done():
			t.Stop()
			return true
		case <-t.C:
		}
	}
	if f.Status == 0 && f.Body == nil && f.HugeBody == 0 {
		return false
	}
	writeFault(w, r, f)
	return true
}

// takeFault returns the fault installed for the endpoint named name (none
// for ""), counting the request against its Times.
func (s *Server) takeFault(name string) (Fault, bool) {
	if name == "" {
		return Fault{}, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	fs := s.faults[name]
	if fs == nil {
		return Fault{}, false
	}
	if fs.left > 0 {
		if fs.left--; fs.left == 0 {
			delete(s.faults, name)
		}
	}
	return fs.f, true
}

// writeFault sends the answer of fault f: its status, content type, body
// and HugeBody filler, until the client goes away.
func writeFault(w http.ResponseWriter, r *http.Request, f Fault) {
	status := f.Status
	if status == 0 {
		status = http.StatusOK
	}
	ct := f.ContentType
	if ct == "" {
		ct = "application/json"
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if _, err := w.Write(f.Body); err != nil {
		return
	}
	filler := bytes.Repeat([]byte{' '}, 32<<10)
	for left := f.HugeBody; left > 0; {
		n := min(left, int64(len(filler)))
		if _, err := w.Write(filler[:n]); err != nil || r.Context().Err() != nil {
			return
		}
		left -= n
	}
}
