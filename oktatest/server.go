package oktatest

import (
	"errors"
	"net"
	"net/http"
	"sync"
	"time"
)

// SignInPath is the path of the fake's sign-in form. The authorize endpoint
// redirects a browser without an SSO session to SignInPath with the original
// authorize request in the "fromURI" parameter; GET renders the form, POST
// checks the credentials and continues the authorize request.
const SignInPath = "/login/signin"

// Server is a fake Okta org. Create one with [NewServer] (or
// [NewUnstartedServer] and [Server.Start]) and stop it with [Server.Close].
//
// Its methods are safe for concurrent use, including while requests are
// being served. The exported fields must be set, if at all, before Start.
type Server struct {
	// URL is the base URL of the server, "http://127.0.0.1:PORT" without a
	// trailing slash, set by Start. It is also the issuer of the org
	// authorization server.
	URL string
	// Listener is the listener the server serves on. When nil at Start, a
	// listener on 127.0.0.1 with an ephemeral port is created. Set it before
	// Start to use a fixed address (offline development).
	Listener net.Listener
	// Now is the clock used for every timestamp and expiry check; nil means
	// time.Now. Set it before Start; to move time in a test, set a function
	// that reads a variable of your own (guarded for concurrent use).
	Now func() time.Time

	mu        sync.Mutex
	started   bool
	closed    bool
	httpSrv   *http.Server
	served    chan struct{}
	client    *http.Client
	transport *http.Transport
	mux       *http.ServeMux

	instance string // distinguishes this server's cookies
	orgID    string // "00o…", the idp claim
	nextKey  int    // next pool index to hand out
	rogueKid string

	org    *authServer
	custom map[string]*authServer

	clients   map[string]*clientRec
	users     map[string]*userRec // by id
	logins    map[string]string   // lower-case login → id
	demo      []User
	autoLogin string

	sessions      map[string]*ssoSession
	codes         map[string]*authCode
	accessTokens  map[string]*grant
	refreshTokens map[string]*grant
	formTokens    map[string]formToken

	mutateIDToken   func(*Token)
	mutateTokenResp func(map[string]any)
	groupsClaims    map[string]*groupsClaimRec // by authorization server id ("" = org)
	groupsLimit     int
	groupsLimitSet  bool
	mutateUserInfo  func(map[string]any)
	mutateDiscovery func(map[string]any)
	down            bool
	tokenRequests   int

	// single logout, refresh rotation and faults (logout.go, backchannel.go,
	// token.go, faults.go); maps are created on first use
	rotateRefresh     bool
	refreshGrace      time.Duration
	backchannel       bool
	mutateLogoutToken func(*Token)
	deliveries        []BackchannelDelivery
	faults            map[string]*faultState
	authorizeLog      []AuthorizeRequest // most recent last, bounded

	ul ulState // Universal Logout sender (universallogout.go)

	// ---- directory and Management API (directory.go, mgmt*.go,
	// ratelimit.go, dpop.go, clientjwt.go) ----
	dir directory
	api apiState
	// ---- end directory and Management API ----

	trustedOrigins []string // AddTrustedOrigin (cors.go)
}

// NewServer starts and returns a new Server listening on 127.0.0.1 with an
// ephemeral port. It has the org authorization server and the custom
// authorization server "default" (audience "api://default"), no clients and
// no users. The caller should call Close when finished.
func NewServer() *Server {
	s := NewUnstartedServer()
	s.Start()
	return s
}

// NewUnstartedServer returns a new Server that is not yet listening. The
// caller may set Listener and Now, then must call Start; clients, users and
// authorization servers may be added before or after Start.
func NewUnstartedServer() *Server {
	warmKeys(1, 5)
	s := &Server{
		instance:      randomID("", 8),
		orgID:         randomID("00o", 20),
		nextKey:       1,
		rogueKid:      newKid(),
		custom:        map[string]*authServer{},
		clients:       map[string]*clientRec{},
		users:         map[string]*userRec{},
		logins:        map[string]string{},
		sessions:      map[string]*ssoSession{},
		codes:         map[string]*authCode{},
		accessTokens:  map[string]*grant{},
		refreshTokens: map[string]*grant{},
		formTokens:    map[string]formToken{},
		rotateRefresh: true,
		refreshGrace:  DefaultRefreshGracePeriod,
	}
	s.initUniversalLogout()
	s.org = s.newAuthServer("", "")
	s.custom["default"] = s.newAuthServer("default", "api://default")
	s.initDirectory() // directory and Management API (directory.go)
	s.mux = s.routes()
	return s
}

// Start starts a server from NewUnstartedServer. It panics if the server was
// already started or closed.
func (s *Server) Start() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started || s.closed {
		panic("oktatest: Server already started")
	}
	if s.Listener == nil {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			if l, err = net.Listen("tcp6", "[::1]:0"); err != nil {
				panic("oktatest: failed to listen on a port: " + err.Error())
			}
		}
		s.Listener = l
	}
	s.started = true
	s.URL = "http://" + s.Listener.Addr().String()
	s.transport = &http.Transport{ForceAttemptHTTP2: false, MaxIdleConnsPerHost: 16}
	s.client = &http.Client{Transport: s.transport}
	s.httpSrv = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	s.served = make(chan struct{})
	go func(srv *http.Server, l net.Listener, done chan struct{}) {
		defer close(done)
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			panic("oktatest: serve: " + err.Error())
		}
	}(s.httpSrv, s.Listener, s.served)
}

// Close shuts down the server, closing every connection. It may be called
// more than once.
func (s *Server) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	srv, done, tr := s.httpSrv, s.served, s.transport
	s.mu.Unlock()
	s.closeUniversalLogout()
	if srv == nil {
		if s.Listener != nil {
			s.Listener.Close()
		}
		return
	}
	srv.Close()
	<-done
	tr.CloseIdleConnections()
}

// Client returns an HTTP client configured for requests to the server. It
// follows redirects like http.DefaultClient and has no cookie jar. It is
// valid only after Start; its idle connections are closed by Close.
func (s *Server) Client() *http.Client {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.client == nil {
		panic("oktatest: Client called before Start")
	}
	return s.client
}

// SetDown makes every endpoint, the sign-in form included, answer
// 503 Service Unavailable while down is true, to simulate an Okta outage.
func (s *Server) SetDown(down bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = down
}

// TokenRequests reports how many requests reached a token endpoint (of any
// authorization server) while the server was up, whatever their outcome.
// Tests use it to prove that a callback was rejected before any code
// exchange.
func (s *Server) TokenRequests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tokenRequests
}

// ServeHTTP serves the fake org's endpoints: discovery, JWKS, authorize,
// token, userinfo, logout, revoke and introspect of every authorization
// server, and the sign-in form at [SignInPath]. It is what Start serves; it
// can also be mounted elsewhere, provided URL is set to the public base URL
// of the mount (issuers and endpoint URLs are derived from it).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	down := s.down
	s.mu.Unlock()
	if down {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte("503 Service Unavailable (oktatest: server is down)\n"))
		return
	}
	if s.injectFault(w, r) {
		return
	}
	if s.serveCORS(w, r) { // trusted origins (cors.go)
		return
	}
	s.mux.ServeHTTP(w, r)
}

// now returns the current time of the server's clock.
func (s *Server) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// routes builds the mux for the org authorization server, every custom
// authorization server and the sign-in form.
func (s *Server) routes() *http.ServeMux {
	mux := http.NewServeMux()
	type asHandler func(http.ResponseWriter, *http.Request, *authServer)
	endpoints := []struct {
		method, path string
		h            asHandler
	}{
		{"GET", "/.well-known/openid-configuration", s.handleDiscovery},
		{"GET", "/.well-known/oauth-authorization-server", s.handleDiscovery},
		{"GET", "/v1/keys", s.handleKeys},
		{"GET", "/v1/authorize", s.handleAuthorize},
		{"POST", "/v1/token", s.handleToken},
		{"GET", "/v1/userinfo", s.handleUserInfo},
		{"POST", "/v1/userinfo", s.handleUserInfo},
		{"GET", "/v1/logout", s.handleLogout},
		{"POST", "/v1/revoke", s.handleRevoke},
		{"POST", "/v1/introspect", s.handleIntrospect},
	}
	for _, e := range endpoints {
		h := e.h
		orgPath := "/oauth2" + e.path
		if e.path[1] == '.' { // org discovery lives at the root
			orgPath = e.path
		}
		mux.HandleFunc(e.method+" "+orgPath, func(w http.ResponseWriter, r *http.Request) {
			h(w, r, s.org)
		})
		mux.HandleFunc(e.method+" /oauth2/{as}"+e.path, func(w http.ResponseWriter, r *http.Request) {
			as := s.lookupAuthServer(r.PathValue("as"))
			if as == nil {
				http.NotFound(w, r)
				return
			}
			h(w, r, as)
		})
	}
	mux.HandleFunc("GET "+SignInPath, s.handleSignInForm)
	mux.HandleFunc("POST "+SignInPath, s.handleSignIn)
	// ---- Management API (mgmt.go): /api/v1/users, /api/v1/groups ----
	s.mgmtRoutes(mux)
	// ---- end Management API ----
	s.plainRoutes(mux) // the GitHub-like plain OAuth 2.0 provider (plainoauth.go)
	return mux
}
