// Package comparebench holds comparisons and interop checks with other
// libraries: benchmarks of other libraries doing the jobs oktasso does, for
// the comparison in docs/PERFORMANCE.md (make bench runs them with the root
// package's benchmarks), and tests that run the fake Okta (oktatest)
// against go-oidc as a reference relying party.
//
// It is a module of its own so that the libraries it uses (gorilla/sessions,
// go-oidc) stay out of the root module's requirements, and so out of the
// module graph and go.sum of applications that use oktasso. Being under
// internal/, it has no API for anyone to import.
package comparebench
