// Package comparebench holds benchmarks of other libraries doing the job
// oktasso's session check does, for the comparison in docs/PERFORMANCE.md
// (make bench runs them with the root package's benchmarks).
//
// It is a module of its own so that the libraries it measures stay out of
// the root module's requirements, and so out of the module graph and
// go.sum of applications that use oktasso. Being under internal/, it has no
// API for anyone to import.
package comparebench
