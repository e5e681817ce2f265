module github.com/oktasso/oktasso/redisstore

go 1.26.0

require (
	github.com/oktasso/oktasso v0.1.0
	github.com/redis/go-redis/v9 v9.23.0
)

require (
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/go-jose/go-jose/v4 v4.1.8 // indirect
	go.uber.org/atomic v1.12.0 // indirect
	golang.org/x/oauth2 v0.37.0 // indirect
	golang.org/x/sys v0.48.0 // indirect
)

// Inside this repository the root module is the one next door (go.work says
// so too); a consumer of this module gets the required release instead,
// since replace directives apply only to the main module.
replace github.com/oktasso/oktasso => ../
