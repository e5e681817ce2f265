module github.com/oktasso/oktasso/internal/comparebench

go 1.26.0

require (
	github.com/coreos/go-oidc/v3 v3.21.0
	github.com/gorilla/securecookie v1.1.2
	github.com/gorilla/sessions v1.4.0
	github.com/oktasso/oktasso v0.1.0
	golang.org/x/oauth2 v0.37.0
)

require github.com/go-jose/go-jose/v4 v4.1.8 // indirect

// The comparisons run against the library in this repository (go.work says
// so too).
replace github.com/oktasso/oktasso => ../../
